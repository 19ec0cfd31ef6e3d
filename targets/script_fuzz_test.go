package targets

import (
	"context"
	"testing"

	"github.com/rulestream/rulestream/internal/testredis"
)

// unquoteScript compiles ARGV[1] as a Lua expression inside one fixed
// script, so fuzzing does not fill Redis's script cache.
const unquoteScript = `local f, e = loadstring('return ' .. ARGV[1])
if not f then return redis.error_reply('compile: ' .. e) end
return f()`

// FuzzLuaQuote checks that every byte string, quoted for a generated
// script, reads back as itself in Redis's Lua.
func FuzzLuaQuote(f *testing.F) {
	for _, s := range []string{"", "queue:ads", "q\"\\\n\x00\xff]]--[[é", "{{x}}", "\r\t\x7f", "123", "a\\0101"} {
		f.Add(s)
	}
	rdb, _ := testredis.Client(f, 2)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		got, err := rdb.Eval(ctx, unquoteScript, nil, luaQuote(s)).Text()
		if err != nil {
			t.Fatalf("%q quoted as %s: %v", s, luaQuote(s), err)
		}
		if got != s {
			t.Fatalf("%q quoted as %s reads back as %q", s, luaQuote(s), got)
		}
	})
}
