namespace Apisix.Core.OpenResty;

/// <summary>
/// How lua-nginx-module recycles the buffers of a request's Lua output (its ctx->free_bufs and
/// ctx->busy_bufs), kept for the debug lines that show it: each ngx.print/say takes a buffer of its
/// size, ngx.flush an empty one, and a subrequest's captured body one per piece, from the free list
/// when it has one ("lua reuse free buf memory N &gt;= LEN, ..." when the buffer is big enough, else "lua
/// reuse free buf chain, but reallocate memory because LEN &gt;= N, ..."), else new ("lua allocate new
/// chainlink and new buf of size LEN, ..."). After each output the buffers go to the busy list; those
/// at its head the writer has sent go back to the free list, the last one first
/// (ngx_chain_update_chains). The writer sends what is pending on a flush, or once it holds
/// postpone_output (1460) bytes; a subrequest's output is taken by the capture at once.
/// Buffers here are sizes and made-up addresses only; the bytes travel as before.
/// </summary>
public sealed class LuaChainBufs
{
    public sealed class Buf
    {
        public long Link;
        /// <summary>b->start (0: none, as a flush buffer has) and b->end - b->start.</summary>
        public long Start;
        public int Capacity;
        /// <summary>ngx_buf_size: bytes not yet sent.</summary>
        public int Size;
    }

    /// <summary>nginx's postpone_output default: the write filter holds less than this until a flush.</summary>
    public const int PostponeOutput = 1460;

    private readonly Stack<Buf> _free = new();
    private readonly List<Buf> _busy = new();
    private int _unsent;
    private static long _nextAddress = 0x000055D0C3A40000;

    private static long NewAddress() => Interlocked.Add(ref _nextAddress, 0x40);

    /// <summary>ngx_http_lua_chain_get_free_buf: a buffer for <paramref name="len"/> bytes; <paramref name="debug"/> gets its line.</summary>
    public Buf Get(int len, Action<string>? debug)
    {
        if (_free.TryPop(out var b))
        {
            if (b.Start != 0 && b.Capacity >= len)
            {
                debug?.Invoke($"lua reuse free buf memory {b.Capacity} >= {len}, cl:{b.Link:X16}, p:{b.Start:X16}");
                b.Size = len;
                return b;
            }
            debug?.Invoke($"lua reuse free buf chain, but reallocate memory because {len} >= {b.Capacity}, cl:{b.Link:X16}, p:{b.Start:X16}");
            if (len == 0) { b.Start = 0; b.Capacity = 0; b.Size = 0; return b; }
            b.Start = NewAddress();
            b.Capacity = len;
            b.Size = len;
            return b;
        }
        var made = new Buf { Link = NewAddress(), Start = len == 0 ? 0 : NewAddress(), Capacity = len, Size = len };
        debug?.Invoke($"lua allocate new chainlink and new buf of size {len}, cl:{made.Link:X16}");
        return made;
    }

    /// <summary>
    /// After the output filter: <paramref name="b"/> joins the busy list; all pending goes out when
    /// <paramref name="sent"/> (a flush, a subrequest's capture) or postpone_output is reached; the
    /// sent buffers at the head of the busy list become free.
    /// </summary>
    public void Output(Buf b, bool sent)
    {
        _busy.Add(b);
        _unsent += b.Size;
        if (sent || _unsent >= PostponeOutput)
        {
            foreach (var x in _busy) x.Size = 0;
            _unsent = 0;
        }
        var n = 0;
        while (n < _busy.Count && _busy[n].Size == 0) _free.Push(_busy[n++]);
        _busy.RemoveRange(0, n);
    }
}
