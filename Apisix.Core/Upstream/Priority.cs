// Twin of apisix/balancer/priority.lua
namespace Apisix.Core.Upstream;

/// <summary>
/// <c>apisix/balancer/priority.lua</c>: one picker per priority, highest first; a request moves
/// to the next priority once every server of the current one failed it.
/// </summary>
public sealed class PriorityPicker(IReadOnlyList<(int Priority, IServerPicker Picker)> pickers, Action<string>? notice = null) : IServerPicker
{
    public (string? Server, string? Error) Get(BalancerState state)
    {
        for (var i = state.PriorityIndex; i < pickers.Count; i++)
        {
            var (priority, picker) = pickers[i];
            var (server, err) = picker.Get(state);
            if (server != null)
            {
                state.PriorityIndex = i;
                return (server, null);
            }
            // the request being served logs it; a picker outlives the request that built it
            var msg = $"failed to get server from current priority {priority}, try next one, err: {err}";
            if (state.Ctx != null) state.Log(Apisix.Core.OpenResty.LogLevel.Notice, msg);
            else notice?.Invoke(msg);
            picker.BeforeRetryNextPriority(state);
        }
        return (null, "all servers tried");
    }

    public void AfterBalance(BalancerState state, bool beforeRetry)
    {
        if (state.PriorityIndex < pickers.Count) pickers[state.PriorityIndex].Picker.AfterBalance(state, beforeRetry);
    }

    public void BeforeRetryNextPriority(BalancerState state) { }
}
