using System.Text;
using Apisix.TestNginx.Perl;

namespace Apisix.TestNginx.Parsing;

/// <summary>
/// Loads a .t file the way Test::Nginx prepares it before running anything:
/// split (Test::Base) → run the Perl preamble (settings, preprocessors) → filter every section
/// (norm, trim, chomp, eval...) → run the file's block preprocessors on every block.
/// </summary>
public static class TestFileLoader
{
    /// <param name="path">The .t file.</param>
    /// <param name="rootDir">The directory the runner works in (APISIX's repo root); Perl's <c>open</c> resolves against it.</param>
    /// <exception cref="TestFileException">Anything unreadable, unsupported or dying, with file:line.</exception>
    public static TestFile Load(string path, string rootDir)
    {
        try
        {
            return LoadFile(path, rootDir);
        }
        catch (Exception e) when (e is not TestFileException)
        {
            // A bug in this loader, not in the file: still report it against the file, never crash the run.
            throw new TestFileException(path, 0, $"internal error while loading: {e.GetType().Name}: {e.Message}");
        }
    }

    private static TestFile LoadFile(string path, string rootDir)
    {
        string text;
        try
        {
            text = Encoding.Latin1.GetString(File.ReadAllBytes(path)); // one char per byte, never decoded
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TestFileException(path, 0, $"can't read file: {e.Message}");
        }

        var raw = TestBaseParser.Parse(text, path);
        var file = new TestFile { Path = path };
        var perl = new PerlInterpreter(rootDir) { ScriptName = path };
        var preprocessors = new List<PerlCode>();
        TestNginxFunctions.Install(perl, file, preprocessors, SelectedCount(raw.Blocks));

        try
        {
            perl.Run(perl.Parse(raw.Preamble, 1, strict: false)); // strict comes with `use strict` / the test module
        }
        catch (PerlException e)
        {
            throw TestFileException.FromPerl(path, e);
        }

        var index = 1;
        var evals = 0;
        foreach (var rb in raw.Blocks)
            file.Blocks.Add(BuildBlock(rb, index++, perl, path, ref evals));

        foreach (var block in file.Blocks)
        {
            foreach (var pp in preprocessors)
            {
                try
                {
                    perl.Call(pp, new PerlBlockObject(block));
                }
                catch (PerlException e)
                {
                    throw TestFileException.FromPerl(path, e, $"block preprocessor, for block '{block.Name}' (line {block.Line})");
                }
            }
        }

        foreach (var (name, value) in perl.Env) file.Settings.Env[name] = value;
        return file;
    }

    private static TestBlock BuildBlock(RawBlock rb, int index, PerlInterpreter perl, string path, ref int evals)
    {
        var block = new TestBlock { Index = index, Name = rb.Name, Line = rb.Line, Description = rb.Description };
        var evalCount = evals;
        foreach (var section in rb.Sections)
        {
            var value = SectionFilters.Apply(section, (code, line) =>
            {
                evalCount++;
                try
                {
                    return perl.EvalList(perl.Parse(code, line));
                }
                catch (PerlException e) when (e.IsPerlError)
                {
                    // Test::Base's eval filter: code that doesn't compile or dies yields $@ as the value
                    return [new PerlString(e.DollarAt($"(eval {evalCount})", line))];
                }
                catch (PerlException e)
                {
                    throw TestFileException.FromPerl(path, e, $"in the eval of section '{section.Name}'");
                }
            }, path);
            evals = evalCount;
            block.Set(section.Name, value);          // a later duplicate replaces an earlier one
            block.Filters[section.Name] = section.Filters;
            block.SectionLines[section.Name] = section.Line;
            switch (section.Name)
            {
                case "ONLY": block.Only = true; break;
                case "SKIP": block.Skip = true; break;
                case "LAST": block.Last = true; break;
            }
        }
        return block;
    }

    // What blocks() returns to the preamble: the blocks Test::Base will run (ONLY / SKIP / LAST applied).
    private static int SelectedCount(IReadOnlyList<RawBlock> blocks)
    {
        var count = 0;
        foreach (var b in blocks)
        {
            bool Has(string n) => b.Sections.Any(s => s.Name == n);
            if (Has("ONLY")) return 1;
            if (Has("SKIP")) continue;
            count++;
            if (Has("LAST")) break;
        }
        return count;
    }
}
