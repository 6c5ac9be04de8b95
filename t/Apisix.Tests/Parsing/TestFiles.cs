using Apisix.TestNginx.Parsing;

namespace Apisix.Tests.Parsing;

/// <summary>Writes small .t texts to a private temp directory (the runner's root) and loads them.</summary>
internal sealed class TestFiles : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("parsing-tests-").FullName;

    public string Write(string relativePath, string text)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes(text));
        return path;
    }

    public TestFile Load(string text, string name = "t/sample.t") => TestFileLoader.Load(Write(name, text), Root);

    /// <summary>Loads a file made of a standard preamble plus the given data section.</summary>
    public TestFile LoadData(string data) => Load("use t::APISIX 'no_plan';\nrun_tests();\n\n__DATA__\n\n" + data);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
