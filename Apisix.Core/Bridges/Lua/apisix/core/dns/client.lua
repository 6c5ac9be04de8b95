-- apisix.core.dns.client: the selector constants callers pass to core.utils.dns_parse.
return {
    RETURN_RANDOM = 1,
    RETURN_ALL = 2,
}
