using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

public class NgxRegexTests
{
    

    [Fact]
    public async Task MatchCapturesNamedAndUnmatched()
    {
        await OpenRestyWorld.ExpectAsync("""
            local m = ngx.re.match("hello, 1234", "([0-9])[0-9]+")
            ngx.say(m[0], " ", m[1])
            m = ngx.re.match("hello", "(?<first>h)(x)?(?<rest>e)", "jo")
            ngx.say(m[0], " ", m[1], " ", tostring(m[2]), " ", m[3], " ", m.first, " ", m.rest)
            ngx.say(ngx.re.match("hello", "HEL", "i")[0])
            ngx.say(ngx.re.match("hello", "xyz"))
            ngx.say(ngx.re.match("abc", "b", "a"))
            ngx.say(ngx.re.match("abc", "a", "a")[0])
            local m2 = ngx.re.match("a1b2", "(\\d)", "jo", { pos = 3 })
            ngx.say(m2[1])
            local ctx = {}
            ngx.re.match("a1b2", "\\d", nil, ctx)
            ngx.say(ctx.pos)
            ngx.say(ngx.re.match("line1\nline2", "^line2$", "m")[0])
            ngx.say(ngx.re.match("a\nb", "a.b", "s")[0] == "a\nb")
            ngx.say(ngx.re.match("ab  c", "b \\s+ c", "x")[0])
            local d = ngx.re.match("hello, world", "(?<w>\\w+), (?<w>\\w+)", "D")
            ngx.say(d.w[1], " ", d.w[2])
            """, """
            1234 1
            he h false e h e
            hel
            nil
            nil
            a
            2
            3
            line2
            true
            b  c
            hello world

            """);
    }

    [Fact]
    public async Task FindGmatchSubGsub()
    {
        await OpenRestyWorld.ExpectAsync("""
            ngx.say(ngx.re.find("hello, 1234", "[0-9]+"))
            ngx.say(ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 2))
            ngx.say(ngx.re.find("hello", "x"))
            local out = {}
            for m in ngx.re.gmatch("hello, world", "([a-z]+)") do out[#out + 1] = m[1] end
            ngx.say(table.concat(out, "|"))
            ngx.say(ngx.re.sub("hello, world", "o", "0"))
            ngx.say(ngx.re.gsub("hello, world", "o", "0"))
            ngx.say(ngx.re.gsub("hello, world", "([a-z])[a-z]+", "[$0,$1]"))
            ngx.say(ngx.re.gsub("hello, world", "(?<c>[a-z])[a-z]+", "${1}$1$$"))
            ngx.say(ngx.re.gsub("hello, world", "[a-z]+", function(m) return m[0]:upper() end))
            ngx.say(ngx.re.gsub("baaac", "a*", "-"))
            ngx.say(ngx.re.gsub("abc", "x", "y"))
            ngx.say(ngx.re.sub("abc", "b", "$"))
            """, """
            811
            911
            nil
            hello|world
            hell0, world1
            hell0, w0rld2
            [hello,h], [world,w]2
            hh$, ww$2
            HELLO, WORLD2
            -b--c-4
            abc0
            nilnilfailed to compile the replacement template

            """);
    }

    [Fact]
    public async Task PcreSpecifics()
    {
        await OpenRestyWorld.ExpectAsync("""
            -- named groups count in PCRE numbering
            local m = ngx.re.match("ab", "(?<x>a)(b)")
            ngx.say(m[1], m[2], m.x)
            -- \d \w are ASCII only, \h, \Q..\E, possessive, POSIX classes, \x{..}
            ngx.say(ngx.re.find("\xe9", "\\w"))
            ngx.say(ngx.re.match("a b", "a\\hb")[0])
            ngx.say(ngx.re.match("a.b*c", "\\Q.b*\\E")[0])
            ngx.say(ngx.re.match("aaa", "a++")[0])
            ngx.say(ngx.re.match("ab12", "[[:digit:]]+")[0])
            ngx.say(ngx.re.match("A", "\\x{41}")[0])
            ngx.say(ngx.re.match("abab", "(?P<p>ab)(?P=p)")[0])
            -- utf8: offsets are bytes
            local s = "h\195\169llo"
            ngx.say(ngx.re.find(s, "l+", "u"))
            ngx.say(ngx.re.match(s, "h.l", "u")[0] == "h\195\169l")
            ngx.say(ngx.re.match(s, "h..l")[0] == "h\195\169l")
            ngx.say(ngx.re.find("h\233llo", "l", "u"))
            """, """
            aba
            nil
            a b
            .b*
            aaa
            12
            A
            abab
            45
            true
            true
            nilnilpcre_exec() failed: -10

            """);
    }

    [Fact]
    public async Task CompileErrors()
    {
        await OpenRestyWorld.ExpectAsync("""
            ngx.say(ngx.re.match("x", ".+("))
            ngx.say(ngx.re.find("x", "^b("))
            ngx.say(ngx.re.match("x", "a)b"))
            ngx.say(ngx.re.match("x", "*a"))
            ngx.say(ngx.re.match("x", "[a"))
            ngx.say(ngx.re.gsub("x", "(", "y"))
            ngx.say(pcall(ngx.re.match, "x", "x", "z"))
            """, """
            nilpcre_compile() failed: missing ) in ".+("
            nilnilpcre_compile() failed: missing ) in "^b("
            nilpcre_compile() failed: unmatched parentheses in "a)b" at ")b"
            nilpcre_compile() failed: nothing to repeat in "*a" at "*a"
            nilpcre_compile() failed: missing terminating ] for character class in "[a"
            nilnilpcre_compile() failed: missing ) in "("
            falseunknown flag "z" (flags "z")

            """);
    }

    [Fact]
    public async Task Split()
    {
        await OpenRestyWorld.ExpectAsync("""
            local re = require("ngx.re")
            local function show(t) ngx.say(#t, " ", table.concat(t, "|")) end
            show(re.split("a,b,c,d", ","))
            show(re.split("a,b,c,d", "(,)"))
            show(re.split("a,b,c,d,e", ",", nil, nil, 3))
            show(re.split(",a,b,,", ","))
            show(re.split("a,b,cd,,,", ",", nil, nil, 6))
            show(re.split("12345", ""))
            show(re.split("12345", "", nil, { pos = 2 }, 2))
            show(re.split("abcd", "()"))
            show(re.split("ab\ncd\nef", "^", "m"))
            show(re.split("a,b", ",", nil, { pos = 10 }))
            local t = { "W", "X", "Y", "Z" }
            re.split("a,b", ",", nil, nil, nil, t)
            ngx.say(t[1], t[2], tostring(t[3]), t[4])
            """, """
            4 a|b|c|d
            7 a|,|b|,|c|,|d
            3 a|b|c,d,e
            3 |a|b
            6 a|b|cd|||
            5 1|2|3|4|5
            2 2|345
            7 a||b||c||d
            3 ab
            |cd
            |ef
            0 
            abnilZ

            """);
    }

    [Fact]
    public Task PatternsSeenInApisix() => OpenRestyWorld.ExpectAsync("""
            ngx.say(ngx.re.match("Basic abc", "(?i:basic)\\s(.+)", "jo")[1])
            ngx.say(ngx.re.gsub("a\1b\127c", "[[:cntrl:]]", "", "jo"))
            ngx.say(ngx.re.find('apisix_bandwidth{type="x"}', 'apisix_bandwidth{type="', "jo"))
            ngx.say(ngx.re.match("http://h:1/a/b", ".+//[^/]+(/.*)", "jo")[1])
            local m = ngx.re.match("a/b/c", "^(.*?)/(.*)$", "jo")
            ngx.say(m[1], " ", m[2])
            ngx.say(ngx.re.gsub("a.b-c_d e", "[^a-zA-Z0-9_-]", "", "jo"))
            ngx.say(ngx.re.find("x #END  ", [[#END\s*$]], "jo"))
            ngx.say(ngx.re.gsub("a, b,c", [[,\s+]], ",", "jo"))
            ngx.say(ngx.re.match("x-y", "[\\w-]+", "jo")[0], " ", ngx.re.match("a]b", "[]a]+")[0])
            ngx.say(ngx.re.match("2024-01-02", [[(?<y>\d{4})-(?<m>\d{2})-(?<d>\d{2})]]).m)
            """, """
            abc
            abc2
            123
            /a/b
            a b/c
            ab-c_de2
            38
            a,b,c1
            x-y a]
            01

            """);
}
