package enrich

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// A malformed Redis URL's error names the URL quoted and redacted, and
// holds the password in no form: not as given, not escaped as the URL
// parser quotes a URL with a control character, nowhere in the chain of
// errors it wraps. Redact hides it in the URL itself.
func TestParseAddrErrorsNeverHoldThePassword(t *testing.T) {
	const pw = "s3cret"
	for _, c := range []struct{ url, pw, want string }{
		{"redis://:s3cret@host\x01:6379", pw, `enrich: redis URL "redis://:xxxxx@host\x01:6379": net/url: invalid control character in URL`},
		{"redis://:s3\x01cret@host:6379", "s3\x01cret", `enrich: redis URL "redis://:xxxxx@host:6379": net/url: invalid control character in URL`},
		{"redis://u:s3cret@host\n:6379/0", pw, `enrich: redis URL "redis://u:xxxxx@host\n:6379/0": net/url: invalid control character in URL`},
		{"redis://u:s3cret@ho st:1", pw, `enrich: redis URL "redis://u:xxxxx@ho st:1": invalid character " " in host name`},
		{"redis://:s3cret@host:notaport/0", pw, `enrich: redis URL "redis://:xxxxx@host:notaport/0": invalid port ":notaport" after host`},
		{"redis://:s3cret@host:6379/x", pw, `enrich: redis URL "redis://:xxxxx@host:6379/x": redis: invalid database number: "x"`},
		{"redis://:p%zzs3cret@host:6379", "p%zzs3cret", `enrich: redis URL "redis://:xxxxx@host:6379": invalid URL escape "%zz"`},
	} {
		_, err := ParseAddr(c.url)
		if err == nil {
			t.Errorf("%q accepted", c.url)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%q: error\n%s\nwant\n%s", c.url, err, c.want)
		}
		quoted := strconv.Quote(c.pw)
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			for _, form := range []string{c.pw, quoted[1 : len(quoted)-1], "s3cret"} {
				if strings.Contains(e.Error(), form) {
					t.Errorf("%q: an error of the chain holds the password (%q): %q", c.url, form, e.Error())
				}
			}
			if strings.ContainsFunc(e.Error(), unicode.IsControl) {
				t.Errorf("%q: a control character printed raw: %q", c.url, e.Error())
			}
		}
		if got := Redact(c.url); strings.Contains(got, c.pw) || !strings.Contains(got, "xxxxx") {
			t.Errorf("Redact(%q) = %q", c.url, got)
		}
	}
}
