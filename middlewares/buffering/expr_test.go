package buffering

import (
	"strings"
	"testing"
)

func TestExpr(t *testing.T) {
	tests := []struct {
		src      string
		attempts int
		code     int
		want     bool
	}{
		{"IsNetworkError() && Attempts() < 2", 1, 502, true},
		{"IsNetworkError() && Attempts() < 2", 2, 502, false},
		{"IsNetworkError() && Attempts() < 2", 1, 500, false},
		{"IsNetworkError()", 1, 504, true},
		{"ResponseCode() == 503 || IsNetworkError()", 3, 503, true},
		{"ResponseCode() >= 500 && ResponseCode() <= 599 && Attempts() <= 3", 3, 599, true},
		{"!(ResponseCode() != 429)", 1, 429, true},
		{"!IsNetworkError()", 1, 200, true},
		{"(Attempts() > 1) == false", 1, 200, true},
		{"true", 1, 200, true},
		{"false || (true && !false)", 1, 200, true},
		{"  Attempts()<2&&ResponseCode()==502  ", 1, 502, true},
		{"1 < 2", 9, 0, true},
		{"ResponseCode() != 200", 1, 200, false},
	}
	for _, tt := range tests {
		e, err := ParseExpr(tt.src)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tt.src, err)
			continue
		}
		if got := e.Eval(&Outcome{Attempts: tt.attempts, ResponseCode: tt.code}); got != tt.want {
			t.Errorf("%q with attempts=%d code=%d = %v, want %v", tt.src, tt.attempts, tt.code, got, tt.want)
		}
	}
}

func TestExprErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"", "unexpected end"},
		{"Attempts()", "true or false"},
		{"Attempts() && true", "&&"},
		{"IsNetworkError() & true", "&&"},
		{"Attempts() = 2", "=="},
		{"Attempts(1)", "no arguments"},
		{"Foo()", "unknown function"},
		{"Attempts", "no arguments"},
		{"(true", "missing )"},
		{"true)", "unexpected"},
		{"IsNetworkError() < true", "only compares numbers"},
		{"Attempts() == true", "number with true/false"},
		{"true == 1", "true/false with a number"},
		{"!Attempts()", "!"},
		{"1 < 2 < 3", "unexpected"},
		{"99999999999999999999999 > 1", "out of range"},
		{"ResponseCode() == 5xx", "unexpected"},
		{strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200), "too deeply"},
		{"Attempts() < 2 # comment", "unexpected character"},
	}
	for _, tt := range tests {
		_, err := ParseExpr(tt.src)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseExpr(%q) error = %v, want mention of %q", tt.src, err, tt.want)
		}
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"IsNetworkError() && Attempts() < 2", "!(ResponseCode()>=500)||false", "((", "Attempts()<=", "&&||!", "1==1"} {
		f.Add(s, 1, 502)
	}
	f.Fuzz(func(t *testing.T, src string, attempts, code int) {
		e, err := ParseExpr(src)
		if err != nil {
			return
		}
		e.Eval(&Outcome{Attempts: attempts, ResponseCode: code}) // must not panic
	})
}
