# Our own plain Test::Nginx file: the ngx encoding, hashing and argument helpers.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: base64 both ways, with and without padding, on text and binary bytes
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.encode_base64("hello world"))
            ngx.say(ngx.encode_base64("hello world", true))
            ngx.say(ngx.decode_base64("aGVsbG8gd29ybGQ="))
            local bin = ngx.decode_base64("/+8A")
            ngx.say(#bin, " ", bin:byte(1), " ", bin:byte(2), " ", bin:byte(3))
            ngx.say(ngx.encode_base64(string.char(255, 239, 0)))
            ngx.say("empty: [", ngx.encode_base64(""), "]")
            ngx.say("invalid: ", ngx.decode_base64("not base64!"))
        }
    }
--- request
GET /t
--- response_body
aGVsbG8gd29ybGQ=
aGVsbG8gd29ybGQ
hello world
3 255 239 0
/+8A
empty: []
invalid: nil



=== TEST 2: md5, sha1_bin, hmac_sha1 and crc32
--- config
    location /t {
        content_by_lua_block {
            local function hex(s)
                return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
            end
            ngx.say(ngx.md5("hello"))
            ngx.say(ngx.md5(""))
            ngx.say(#ngx.md5_bin("hello"), " ", hex(ngx.md5_bin("hello")))
            ngx.say(ngx.encode_base64(ngx.sha1_bin("abc")))
            ngx.say(hex(ngx.hmac_sha1("key", "The quick brown fox jumps over the lazy dog")))
            ngx.say(ngx.crc32_short("hello"), " ", ngx.crc32_long("hello"))
        }
    }
--- request
GET /t
--- response_body
5d41402abc4b2a76b9719d911017c592
d41d8cd98f00b204e9800998ecf8427e
16 5d41402abc4b2a76b9719d911017c592
qZk+NkcGgWq6PiVxeFDCbJzQ2J0=
de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9
907060870 907060870



=== TEST 3: escape_uri escapes all but unreserved characters; unescape_uri reverses it
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.escape_uri("a b&c=d/e?f#g~h-i_j.k"))
            ngx.say(ngx.escape_uri("caf\xC3\xA9"))
            ngx.say(ngx.unescape_uri("a%20b%26c%3dd%2Fe"))
            ngx.say(ngx.unescape_uri("caf%C3%A9") == "caf\xC3\xA9")
            ngx.say(ngx.unescape_uri("plus+means%20space"))
            ngx.say("numbers: ", ngx.escape_uri(42))
        }
    }
--- request
GET /t
--- response_body
a%20b%26c%3Dd%2Fe%3Ff%23g~h-i_j.k
caf%C3%A9
a b&c=d/e
true
plus means space
numbers: 42



=== TEST 4: encode_args: escaping, true as a bare key, lists as repeated keys, false dropped
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.encode_args({ q = "a b&c" }))
            ngx.say(ngx.encode_args({ flag = true }))
            ngx.say(ngx.encode_args({ multi = { "1", "2", "x y" } }))
            ngx.say("[", ngx.encode_args({ off = false }), "]")
            ngx.say(ngx.encode_args({ n = 10 / 2 }))
        }
    }
--- request
GET /t
--- response_body
q=a%20b%26c
flag
multi=1&multi=2&multi=x%20y
[]
n=5



=== TEST 5: decode_args: repeats, bare keys, plus signs and escapes, and the max limit
--- config
    location /t {
        content_by_lua_block {
            local args = ngx.decode_args("a=1&b=x+y%21&a=2&c&d=")
            ngx.say(type(args.a), " ", args.a[1], args.a[2], " [", args.b, "] ", args.c, " [", args.d, "]")
            local limited = ngx.decode_args("k1=1&k2=2&k3=3", 2)
            ngx.say(limited.k1, " ", limited.k2, " ", limited.k3)
            local round = ngx.decode_args(ngx.encode_args({ key = "v&=?" }))
            ngx.say(round.key)
        }
    }
--- request
GET /t
--- response_body
table 12 [x y!] true []
1 2 nil
v&=?



=== TEST 6: escape_uri's type: 0 keeps URI syntax, 2 (the default) only escapes component delimiters; bad types are errors
--- config
    location /t {
        content_by_lua_block {
            local s = "/p?q=a b&r=(x)!*'#"
            ngx.say(ngx.escape_uri(s, 0))
            ngx.say(ngx.escape_uri("a+b", 0), " ", ngx.escape_uri("a+b", 1))
            ngx.say(ngx.escape_uri(s))
            ngx.say(ngx.escape_uri("<\"a\">", 3))
            ngx.say(ngx.escape_uri("k e%y", 5))
            for _, bad in ipairs({ 7, -1 }) do
                local ok, err = pcall(ngx.escape_uri, s, bad)
                ngx.say((err:gsub("^.-:%d+: ", "")))
            end
            local ok, err = pcall(ngx.escape_uri, s, "2")
            ngx.say((err:gsub("^.-:%d+: ", "")))
        }
    }
--- request
GET /t
--- response_body
/p%3Fq=a%20b&r=(x)!*'%23
a+b a%2Bb
%2Fp%3Fq%3Da%20b%26r%3D(x)!*'%23
<%22a%22>
k%20e%25y
"type" 7 out of range
"type" -1 out of range
"type" is not a number



=== TEST 7: digests and base64 take nil as the empty string; decode_base64 wants a string
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.md5(nil) == ngx.md5(""), " ", ngx.encode_base64(nil), "|", ngx.encode_base64(12))
            ngx.say(ngx.encode_base64(ngx.sha1_bin(nil)))
            local ok, err = pcall(ngx.decode_base64, nil)
            ngx.say((err:gsub("^.-:%d+: ", "")))
            ok, err = pcall(ngx.encode_base64, "a", "yes")
            ngx.say((err:gsub("^.-:%d+: ", "")))
        }
    }
--- request
GET /t
--- response_body
true |MTI=
2jmj7l5rSw0yVb/vlWAYkK/YBwk=
string argument only
bad no_padding: boolean expected, got string
