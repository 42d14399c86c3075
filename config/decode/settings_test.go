package decode_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/decode"
)

func TestFlagSyntax(t *testing.T) {
	tests := []struct {
		arg   string
		name  string
		path  []string
		value string
		bare  bool
		err   string // substring of the decoding error
	}{
		{arg: "--entryPoints.web.address=:80", name: "--entryPoints.web.address", path: []string{"entryPoints", "web", "address"}, value: ":80"},
		{arg: "-api.insecure", name: "-api.insecure", path: []string{"api", "insecure"}, bare: true},
		{arg: "--api.insecure=", name: "--api.insecure", path: []string{"api", "insecure"}},
		{arg: "--a=b=c", name: "--a", path: []string{"a"}, value: "b=c"},
		{arg: "--ips[0]=10.0.0.0/8", name: "--ips[0]", path: []string{"ips", "0"}, value: "10.0.0.0/8"},
		{arg: "--certs[1].certFile=c.pem", name: "--certs[1].certFile", path: []string{"certs", "1", "certFile"}, value: "c.pem"},
		{arg: "--m[0][1]=x", path: []string{"m", "0", "1"}, value: "x"},
		{arg: "--ips.0=x", path: []string{"ips", "0"}, value: "x"},
		{arg: "--", err: "bad flag syntax"},
		{arg: "-", err: "bad flag syntax"},
		{arg: "--a..b", err: "empty key"},
		{arg: "--.a", err: "empty key"},
		{arg: "--a.", err: "bad key syntax"},
		{arg: "--a[x]", err: "bad list index"},
		{arg: "--a[0", err: "bad list index"},
		{arg: "--a]", err: "bad key syntax"},
		{arg: "--a[0]b", err: "bad key syntax"},
	}
	for _, tt := range tests {
		s := decode.Flag(tt.arg)
		var into struct{}
		_, err := decode.Settings("flags", []decode.Setting{s}, &into)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), s.Name+": ") {
				t.Errorf("%s: err = %v, want %q", tt.arg, err, tt.err)
			}
			continue
		}
		if tt.name != "" && s.Name != tt.name {
			t.Errorf("%s: name %q", tt.arg, s.Name)
		}
		if !reflect.DeepEqual(s.Path, tt.path) || s.Value != tt.value || s.Bare != tt.bare {
			t.Errorf("%s: path %q value %q bare %v", tt.arg, s.Path, s.Value, s.Bare)
		}
	}
}

func TestEnvVarAndEnviron(t *testing.T) {
	s := decode.EnvVar("GUAN_", "GUAN_ENTRYPOINTS_Web_ADDRESS", ":80")
	if !reflect.DeepEqual(s.Path, []string{"entrypoints", "web", "address"}) || s.Value != ":80" || s.Bare {
		t.Fatalf("%+v", s)
	}
	var into struct {
		EntryPoints map[string]string `json:"entryPoints"`
		API         struct{}          `json:"api"`
		Log         struct{}          `json:"log"`
	}
	env := []string{
		"PATH=/bin",
		"GUAN_LISTEN_FDS=web:3", // not a key: another use of the prefix
		"GUAN_API_INSECURE=true",
		"TRAEFIK_LOG_LEVEL=DEBUG",
		"GUAN_ENTRYPOINT_WEB=:80", // close to a key: kept, to be reported
		"GUAN_=x",
		"guan_api_debug=true", // the prefix is upper case
		"GUAN_ENTRYPOINTS_WEB=a=b",
	}
	got := decode.Environ(env, []string{"GUAN_", "TRAEFIK_"}, &into)
	var names []string
	for _, s := range got {
		names = append(names, s.Name+"="+s.Value)
	}
	want := []string{"GUAN_API_INSECURE=true", "GUAN_ENTRYPOINTS_WEB=a=b", "GUAN_ENTRYPOINT_WEB=:80", "TRAEFIK_LOG_LEVEL=DEBUG"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("settings %q, want %q", names, want)
	}
	for _, bad := range []string{"GUAN_API__INSECURE", "GUAN_API_"} {
		_, err := decode.Settings("env", []decode.Setting{decode.EnvVar("GUAN_", bad, "1")}, &into)
		if err == nil || !strings.HasPrefix(err.Error(), bad+": empty key") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

type switches struct {
	B       bool              `json:"b"`
	PB      *bool             `json:"pb"`
	S       string            `json:"s"`
	D       *config.Duration  `json:"d"`
	Sec     *settingsSection  `json:"sec"`
	M       map[string]string `json:"m"`
	List    []string          `json:"list"`
	Structs []settingsSection `json:"structs"`
}

type settingsSection struct {
	Name  string `json:"name"`
	On    bool   `json:"on"`
	Inner *struct {
		N int `json:"n"`
	} `json:"inner"`
}

func TestIsSwitch(t *testing.T) {
	for path, want := range map[string]bool{
		"b": true, "PB": true, "s": false, "d": false, "sec": true, "sec.on": true, "sec.name": false,
		"sec.inner": true, "sec.inner.n": false, "m": true, "m.x": false, "list": false, "list.0": false,
		"structs.0": true, "structs.0.on": true, "unknown": false, "b.x": false, "": true,
	} {
		var p []string
		if path != "" {
			p = strings.Split(path, ".")
		}
		if got := decode.IsSwitch(&switches{}, p); got != want {
			t.Errorf("IsSwitch(%q) = %v", path, got)
		}
	}
}

type allTypes struct {
	S     string                      `json:"s"`
	B     bool                        `json:"b"`
	B2    bool                        `json:"b2"`
	PB    *bool                       `json:"pb"`
	I     int                         `json:"i"`
	I8    int8                        `json:"i8"`
	U     uint16                      `json:"u"`
	F     float64                     `json:"f"`
	D     config.Duration             `json:"d"`
	PD    *config.Duration            `json:"pd"`
	List  []string                    `json:"list"`
	Nums  []float64                   `json:"nums"`
	M     map[string]string           `json:"m"`
	Eps   map[string]*settingsSection `json:"eps"`
	Sec   *settingsSection            `json:"sec"`
	Off   *settingsSection            `json:"off"`
	Items []settingsSection           `json:"items"`
	Any   any                         `json:"any"`
}

func decodeFlags(t *testing.T, into any, args ...string) error {
	t.Helper()
	var ss []decode.Setting
	for _, a := range args {
		ss = append(ss, decode.Flag(a))
	}
	_, err := decode.Settings("flags", ss, into)
	return err
}

func TestSettingsTypes(t *testing.T) {
	var c allTypes
	err := decodeFlags(t, &c,
		"--S=hello, world", "--b", "--B2=false", "--pb=1", "--i=-42", "--i8=7", "--u=65535", "--f=0.25",
		"--d=90", "--pd=1m30s",
		"--list=a, b,,c", "--list=d", // repeated flags add up
		"--nums[0]=1", "--nums[1]=2.5",
		"--m.Key=v", "--eps.Web.name=w", "--eps.Web.on", "--EPS.api.name=a", // map keys keep their case
		"--sec", "--sec.inner.n=3", "--off=false",
		"--items[1].name=second", "--items[0].name=first", "--items.0.on=true",
		"--any=x")
	if err != nil {
		t.Fatal(err)
	}
	want := allTypes{
		S: "hello, world", B: true, PB: ptr(true), I: -42, I8: 7, U: 65535, F: 0.25,
		D: config.Duration(90 * time.Second), PD: ptr(config.Duration(90 * time.Second)),
		List: []string{"a", "b", "c", "d"}, Nums: []float64{1, 2.5},
		M:   map[string]string{"Key": "v"},
		Eps: map[string]*settingsSection{"Web": {Name: "w", On: true}, "api": {Name: "a"}},
		Sec: &settingsSection{Inner: &struct {
			N int `json:"n"`
		}{N: 3}},
		Items: []settingsSection{{Name: "first", On: true}, {Name: "second"}},
		Any:   "x",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}

	// A bare section, an empty one and "true" enable it; an empty list is
	// empty.
	for _, arg := range []string{"--sec", "--sec=", "--sec=true"} {
		var c allTypes
		if err := decodeFlags(t, &c, arg, "--list="); err != nil || c.Sec == nil || c.List == nil || len(c.List) != 0 {
			t.Errorf("%s: err=%v sec=%v list=%#v", arg, err, c.Sec, c.List)
		}
	}
}

func TestSettingsEnvironment(t *testing.T) {
	var c allTypes
	ss := []decode.Setting{
		decode.EnvVar("GUAN_", "GUAN_EPS_WEB_NAME", "w"),
		decode.EnvVar("GUAN_", "GUAN_LIST", "a,b"),
		decode.EnvVar("GUAN_", "GUAN_ITEMS_0_NAME", "x"),
		decode.EnvVar("GUAN_", "GUAN_SEC", "true"),
		decode.EnvVar("GUAN_", "GUAN_B", "true"),
	}
	if _, err := decode.Settings("env", ss, &c); err != nil {
		t.Fatal(err)
	}
	if c.Eps["web"] == nil || c.Eps["web"].Name != "w" || !reflect.DeepEqual(c.List, []string{"a", "b"}) ||
		len(c.Items) != 1 || c.Items[0].Name != "x" || c.Sec == nil || !c.B {
		t.Fatalf("%+v", c)
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want []string // whole error lines, in order
	}{
		{[]string{"--sec.nam=x"}, []string{`--sec.nam: unknown key "nam" (did you mean --sec.name?)`}},
		{[]string{"--zzz=1"}, []string{`--zzz: unknown key "zzz" (valid keys here: s, b, b2, pb, i, i8, u, f, d, pd, list, nums, m, eps, sec, off, items, any)`}},
		{[]string{"--b=maybe", "--i=1.5", "--i8=300", "--u=-1", "--f=x", "--d=abc"}, []string{
			`--b: expected a boolean, got "maybe"`,
			`--i: expected an integer, got "1.5"`,
			`--i8: expected an integer, got "300"`,
			`--u: expected a non-negative integer, got "-1"`,
			`--f: expected a number, got "x"`,
			`--d: invalid duration "abc": use a number of seconds or a value like "10s", "1m30s"`,
		}},
		{[]string{"--s", "--d", "--list"}, []string{"--s: needs a value: --s=VALUE", "--d: needs a value: --d=VALUE", "--list: needs a value: --list=VALUE"}},
		{[]string{"--nums=1,x"}, []string{`--nums: expected a number, got "x"`}},
		{[]string{"--sec=/dir"}, []string{`--sec: is a section: give true or false to turn it on or off, or set a key below it (name, on, inner); got "/dir"`}},
		{[]string{"--sec=false", "--sec.name=x"}, []string{"--sec: turns the section off, but --sec.name sets it"}},
		{[]string{"--s=a", "--S=b", "--s=c"}, []string{"--S: is given more than once", "--s: is given more than once"}},
		{[]string{"--list=a", "--list[0]=b"}, []string{"--list[0]: sets an element of the list that --list sets whole"}},
		{[]string{"--list[0]=a", "--list[2]=b"}, []string{"--list[2]: index 2 leaves a gap: number the elements of list 0, 1, 2, ... in order"}},
		{[]string{"--list.x=a"}, []string{`--list.x: unknown key "x": list is a list: set it whole (comma-separated) or by element index ([0], [1], ...)`}},
		{[]string{"--b.x=1", "--d.y=2"}, []string{`--b.x: unknown key "x": b takes a value, it has no keys below it`, `--d.y: unknown key "y": d takes a value, it has no keys below it`}},
		// Every setting below an unknown key is reported, in the order given.
		{[]string{"--epz.a.name=1", "--b", "--epz.b.name=2"}, []string{
			`--epz.a.name: unknown key "epz" (did you mean --eps.a.name?)`,
			`--epz.b.name: unknown key "epz" (did you mean --eps.b.name?)`,
		}},
	}
	for _, tt := range tests {
		var c allTypes
		err := decodeFlags(t, &c, tt.args...)
		if err == nil {
			t.Errorf("%q: no error", tt.args)
			continue
		}
		if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\ngot  %q\nwant %q", tt.args, got, tt.want)
		}
	}

	// Environment variables: hints in their spelling; the same key under
	// two prefixes clashes, even for a list.
	var c allTypes
	ss := []decode.Setting{
		decode.EnvVar("GUAN_", "GUAN_SEC_NAM", "x"),
		decode.EnvVar("GUAN_", "GUAN_LIST", "a"),
		decode.EnvVar("TRAEFIK_", "TRAEFIK_LIST", "b"),
		decode.EnvVar("GUAN_", "GUAN_SEC_INNER_XYZ", "1"),
	}
	_, err := decode.Settings("env", ss, &c)
	want := []string{
		`GUAN_SEC_NAM: unknown key "NAM" (did you mean GUAN_SEC_NAME?)`,
		`TRAEFIK_LIST: sets the same key as GUAN_LIST`,
		`GUAN_SEC_INNER_XYZ: unknown key "XYZ" (valid keys here: N)`,
	}
	if err == nil || !reflect.DeepEqual(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("env: got %v\nwant %q", err, want)
	}
}

func TestSettingsMeta(t *testing.T) {
	var c allTypes
	meta, err := decode.Settings("flags", []decode.Setting{decode.Flag("--b"), decode.Flag("--EPS.web.name=w"), decode.Flag("--list=a,b")}, &c)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"eps.web.name": "--EPS.web.name",
		"eps.web.on":   "--EPS.web.name", // unset: the closest parent
		"list.1":       "--list",
		"s":            "flags",
	} {
		if got := meta.Pos(strings.Split(path, ".")...).String(); got != want {
			t.Errorf("Pos(%s) = %q, want %q", path, got, want)
		}
	}
}
