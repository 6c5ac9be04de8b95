-- apisix.core.io: forwards to the C# twin (Apisix.Core/Core/Io.cs).
local io_ = __bridge("apisix.core.io")

return {
    get_file = function(file_name)
        local content, err = io_:GetFile(file_name)
        if not content then
            return nil, err
        end
        return content
    end,
}
