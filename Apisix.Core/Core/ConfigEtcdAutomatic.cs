// Twin of apisix/core/config_etcd.lua (the automatic objects: load_full_data, sync_data)
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;
using Apisix.Core.Store;

namespace Apisix.Core;

/// <summary>
/// The data plane's copy of one etcd directory: <c>core.config.new(key, {automatic = true,
/// item_schema, checker})</c> as the gateway's own modules create it in <c>init_worker</c>
/// (routes, services, plugin configs, consumers, consumer groups, global rules, upstreams).
/// It reads the whole directory once (or takes what the master read before the workers
/// started: "use loaded configuration"), then follows the store's history from the next
/// revision on, as a watch does. Every item goes through the same checks as upstream's:
/// an object, the item schema, the module's checker; a failing item is logged and left out.
/// </summary>
public sealed class AutomaticConfig
{
    private readonly IEtcdStore _store;
    private readonly Action<LogLevel, string> _log;
    private readonly Dictionary<string, StoreEntry> _values = new(StringComparer.Ordinal);
    private int _syncTimes;
    private bool _pullPending;

    /// <param name="key">The directory under the etcd prefix, e.g. <c>/routes</c>.</param>
    /// <param name="prefix">The deployment's etcd prefix (<c>/apisix</c>).</param>
    public AutomaticConfig(IEtcdStore store, string key, string prefix, JsonObject? itemSchema,
        Func<JsonObject, string, (bool Ok, string? Err)>? checker, Action<LogLevel, string> log)
    {
        _store = store;
        Name = key;
        Key = prefix + key;
        ItemSchema = itemSchema;
        Checker = checker;
        _log = log;
    }

    /// <summary>The directory as created (<c>/routes</c>).</summary>
    public string Name { get; }

    /// <summary><c>self.key</c>: the full key (<c>/apisix/routes</c>).</summary>
    public string Key { get; }

    public JsonObject? ItemSchema { get; }
    public Func<JsonObject, string, (bool Ok, string? Err)>? Checker { get; }

    /// <summary><c>self.prev_index</c>: the last revision seen.</summary>
    public long PrevIndex { get; private set; }

    /// <summary><c>self.conf_version</c>: bumped by every load or change that kept an item.</summary>
    public long ConfVersion { get; private set; }

    /// <summary><c>self.need_reload</c>: the next sync reads the whole directory.</summary>
    public bool NeedReload { get; private set; } = true;

    /// <summary>The short keys (<c>1</c> for <c>/apisix/routes/1</c>) of the items that passed the checks.</summary>
    public IReadOnlyCollection<string> Keys => _values.Keys;

    /// <summary><c>get(key)</c>: the item kept under the short key, or null.</summary>
    public StoreEntry? Get(string key) => _values.GetValueOrDefault(key);

    /// <summary>
    /// Whether the store's entry at <paramref name="fullKey"/> is the one this copy holds
    /// (same revision): a value the checks refused, or one not synced yet, is not.
    /// </summary>
    public bool Holds(string fullKey, long modifiedIndex) =>
        fullKey.StartsWith(Key + "/", StringComparison.Ordinal)
        && _values.TryGetValue(fullKey[(Key.Length + 1)..], out var e) && e.ModifiedIndex == modifiedIndex;

    // the items the checks refused: short key -> the revision refused
    private readonly Dictionary<string, long> _refused = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether the store's entry at <paramref name="fullKey"/>, at <paramref name="modifiedIndex"/>,
    /// is one the checks refused: the data plane leaves it out as if it did not exist.
    /// </summary>
    public bool Refused(string fullKey, long modifiedIndex)
    {
        if (!fullKey.StartsWith(Key + "/", StringComparison.Ordinal)) return false;
        lock (_refused) return _refused.TryGetValue(fullKey[(Key.Length + 1)..], out var rev) && rev == modifiedIndex;
    }

    private void Refuse(string key, long revision, bool refused)
    {
        lock (_refused)
        {
            if (refused) _refused[key] = revision;
            else _refused.Remove(key);
        }
    }

    private string ShortKey(string fullKey) => fullKey[(Key.Length + 1)..];

    /// <summary><c>readdir</c>: the directory's items (the <c>init_dir</c> placeholder left out) and the revision read at.</summary>
    public static (List<StoreEntry> Items, long Revision) Readdir(IEtcdStore store, string key)
    {
        // the revision first: a write between the two reads is seen again by the watch, never lost
        var revision = store.Revision;
        var items = store.Range(key + "/", ConfigStore.PrefixEnd(key + "/")).Where(e => e.Key.Length > key.Length + 1).ToList();
        return (items, revision);
    }

    private static string LuaConcat(JsonNode? value) => value switch
    {
        null => "nil",
        JsonValue v when JsonScalars.TryGetString(v, out string s) => s,
        _ => LuaText.ToLuaString(value),
    };

    /// <summary>The checks of one item; logs why it is refused.</summary>
    private bool ValidItem(string key, JsonNode? value, string fullKey, bool needObject)
    {
        if (needObject && value is not JsonObject)
        {
            _log(LogLevel.Error, "invalid item data of [" + Key + "/" + key + "], val: " + LuaConcat(value)
                                 + ", it should be an object");
            return false;
        }
        if (value is not JsonObject obj) return true;
        if (ItemSchema != null)
        {
            var (ok, err) = JsonSchema.Check(ItemSchema, obj);
            if (!ok)
            {
                _log(LogLevel.Error, "failed to check item data of [" + Key + "] err:" + err + " ,val: " + CJson.Encode(obj));
                return false;
            }
        }
        if (Checker != null)
        {
            var (ok, err) = Checker(obj, fullKey);
            if (!ok)
            {
                // delay_encode: the value as the checker left it (defaults filled in)
                _log(LogLevel.Error, "failed to check item data of [" + Key + "] err:" + err + " ,val: " + CJson.Encode(obj));
                return false;
            }
        }
        return true;
    }

    private void UpgradeVersion(long newVer)
    {
        if (newVer > PrevIndex) PrevIndex = newVer;
    }

    /// <summary><c>load_full_data(self, dir_res, headers)</c>.</summary>
    public void LoadFullData(IEnumerable<StoreEntry> items, long headerIndex)
    {
        var changed = false;
        _values.Clear();
        lock (_refused) _refused.Clear();
        foreach (var item in items)
        {
            var key = ShortKey(item.Key);
            var value = item.Value?.DeepClone();
            var ok = ValidItem(key, value, item.Key, needObject: true);
            Refuse(key, item.ModifiedIndex, !ok);
            if (ok)
            {
                changed = true;
                _values[key] = item with { Value = value };
            }
            UpgradeVersion(item.ModifiedIndex);
        }
        PrevIndex = headerIndex;
        if (changed) ConfVersion++;
        NeedReload = false;
    }

    /// <summary>
    /// <c>sync_data(self)</c>: a full read when one is due, else the changes under the directory
    /// since <see cref="PrevIndex"/> (a history compacted past it asks for the full read again).
    /// </summary>
    public void SyncData()
    {
        if (NeedReload)
        {
            var (items, revision) = Readdir(_store, Key);
            LoadFullData(items, revision);
            return;
        }
        var changes = _store.Changes(PrevIndex + 1);
        if (changes == null)
        {
            NeedReload = true;
            _log(LogLevel.Error, "waitdir [" + Key + "] err: compacted, will read the configuration again via readdir");
            return;
        }
        foreach (var change in changes)
        {
            var res = change.Entry;
            if (!res.Key.StartsWith(Key + "/", StringComparison.Ordinal) || res.Key.Length == Key.Length + 1)
            {
                UpgradeVersion(change.Revision);
                continue;
            }
            var key = ShortKey(res.Key);
            var value = change.Kind == ChangeKind.Put ? res.Value?.DeepClone() : null;
            var present = change.Kind == ChangeKind.Put && (value != null || res.Raw == null);
            var valid = !present || ValidItem(key, value, res.Key, needObject: true);
            UpgradeVersion(change.Revision);
            Refuse(key, change.Revision, !valid);
            if (!valid) continue;

            if (_values.ContainsKey(key))
            {
                if (present)
                {
                    _values[key] = res with { Value = value };
                    _log(LogLevel.Info, "update data by key: " + key);
                }
                else
                {
                    _syncTimes++;
                    _values.Remove(key);
                    _log(LogLevel.Info, "delete data by key: " + key);
                }
            }
            else if (present)
            {
                _values[key] = res with { Value = value };
                _log(LogLevel.Info, "insert data by key: " + key);
            }

            if (_syncTimes > 100)
            {
                _syncTimes = 0;
                _log(LogLevel.Info, "clear stale data in `values_hash` for key: " + key);
            }
            ConfVersion++;
        }
    }

    /// <summary>
    /// <see cref="SyncData"/> as the sync timer runs it (<c>_automatic_fetch</c>'s xpcall):
    /// a failure is logged, never raised into the loop.
    /// </summary>
    public void RunSync()
    {
        try { SyncData(); }
        catch (Exception e)
        {
            _log(LogLevel.Error, "failed to fetch data from etcd: " + e.Message + "," + ToString());
        }
    }

    /// <summary>
    /// Starts following the store: each write schedules one <see cref="SyncData"/> on
    /// <paramref name="post"/> (the worker's loop), as the watch wakes the sync timer.
    /// </summary>
    public IDisposable Follow(Action<Action> post)
    {
        void OnChanged(ConfigChange c)
        {
            if (!c.Entry.Key.StartsWith(Key + "/", StringComparison.Ordinal)) return;
            lock (_values)
            {
                if (_pullPending) return;
                _pullPending = true;
            }
            post(() =>
            {
                lock (_values) _pullPending = false;
                RunSync();
            });
        }
        _store.Changed += OnChanged;
        return new Unsubscribe(() => _store.Changed -= OnChanged);
    }

    private sealed class Unsubscribe(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>
    /// <c>init_loaded_configuration</c>: what the master reads of the whole prefix before the
    /// workers start, split by directory (those with their <c>init_dir</c> placeholder).
    /// </summary>
    public static Dictionary<string, (List<StoreEntry> Items, long Revision)> LoadedConfiguration(IEtcdStore store, string prefix)
    {
        var revision = store.Revision;
        var result = new Dictionary<string, (List<StoreEntry>, long)>(StringComparer.Ordinal);
        foreach (var dir in Etcd.EtcdDirectories)
        {
            var full = prefix + dir + "/";
            var entries = store.Range(full, ConfigStore.PrefixEnd(full));
            if (entries.Count == 0 || entries[0].Key != full) continue;
            result[dir] = (entries.Skip(1).ToList(), revision);
        }
        return result;
    }

    public override string ToString() => " etcd key: " + Key;
}

/// <summary>
/// The main watcher of one process (<c>do_run_watch</c>): the objects of a process share one
/// watch of the whole prefix. It starts from the revision the master's read was made at (the
/// loaded configuration's <c>X-Etcd-Index</c>; without a valid one, the store's current
/// revision) and follows the prefix; a round without events under the prefix ends after
/// <c>etcd.watch_timeout</c> seconds and moves the revision past what the store had when the
/// round began, as upstream does so a long-idle prefix never falls behind a compaction.
/// </summary>
public sealed class MainWatcher
{
    private readonly IEtcdStore _store;
    private readonly string _prefix;
    private readonly double _timeout;
    private readonly Action<LogLevel, string> _log;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MainWatcher(IEtcdStore store, string prefix, double timeoutSeconds, Action<LogLevel, string> log)
    {
        _store = store;
        _prefix = prefix + "/";
        _timeout = timeoutSeconds > 0 ? timeoutSeconds : 50;
        _log = log;
    }

    /// <summary><c>watch_ctx.rev</c>: the next revision the watch asks for.</summary>
    public long Rev { get; private set; }

    /// <summary>
    /// Runs the watch until <paramref name="stopping"/>. <paramref name="loadedIndex"/> is the
    /// loaded configuration's <c>X-Etcd-Index</c> header as read (null: no loaded configuration).
    /// </summary>
    public async Task RunAsync(string? loadedIndex, bool hasLoaded, CancellationToken stopping)
    {
        long rev = 0;
        if (hasLoaded)
        {
            if (!long.TryParse(loadedIndex, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out rev) || rev <= 0)
            {
                _log(LogLevel.Warn, "invalid or missing X-Etcd-Index header, will fetch revision from etcd directly");
                rev = 0;
            }
        }
        if (rev == 0) rev = _store.Revision;
        Rev = rev + 1;
        _log(LogLevel.Info, "main etcd watcher initialised, revision=" + Rev);

        void OnChanged(ConfigChange c)
        {
            if (c.Entry.Key.StartsWith(_prefix, StringComparison.Ordinal)) _changed.TrySetResult();
        }
        _store.Changed += OnChanged;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var latest = _store.Revision;
                var events = Events();
                if (events.Count == 0)
                {
                    var signal = _changed.Task;
                    var done = await Task.WhenAny(signal, Task.Delay(TimeSpan.FromSeconds(_timeout), stopping));
                    if (stopping.IsCancellationRequested) break;
                    if (done != signal)
                    {
                        if (Rev < latest + 1)
                        {
                            Rev = latest + 1;
                            _log(LogLevel.Info, "etcd watch timeout, upgrade revision to " + Rev);
                        }
                        continue;
                    }
                    _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    events = Events();
                }
                if (events.Count > 0) Rev = events[^1].Revision + 1;
            }
        }
        finally
        {
            _store.Changed -= OnChanged;
        }
    }

    private List<ConfigChange> Events()
    {
        var changes = _store.Changes(Rev);
        if (changes == null)
        {
            _log(LogLevel.Error, "etcd compacted, compact_revision=" + _store.CompactRevision);
            Rev = _store.CompactRevision + 1;
            return [];
        }
        return changes.Where(c => c.Entry.Key.StartsWith(_prefix, StringComparison.Ordinal)).ToList();
    }
}
