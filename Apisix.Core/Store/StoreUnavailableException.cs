namespace Apisix.Core.Store;

/// <summary>
/// An <see cref="IEtcdStore"/> backed by a remote cluster could not be reached (all endpoints
/// down, a deadline passed). The message is what lua-resty-etcd would return as its error; the
/// admin API answers it with a 503, as APISIX does when etcd fails.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : IOException(message, inner);
