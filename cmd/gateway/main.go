// Command gateway runs Guan. Usage:
//
//	gateway [--configFile=PATH | --KEY=VALUE...]          run the gateway
//	gateway check [--configFile=PATH | --KEY=VALUE...]    validate static and dynamic configuration
//	gateway version                                        print the version
//	gateway certs sm2 --out DIR --host NAME...             write SM2 test certificates for TLCP
//
// The static configuration comes from one source: a file, static flags
// (--entryPoints.web.address=:80) or GUAN_*/TRAEFIK_* environment
// variables; see loadStatic.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/guan-gateway/guan"
	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/static"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage:
  gateway [--configFile=PATH | STATIC FLAGS...]        run the gateway
  gateway check [--configFile=PATH | STATIC FLAGS...]  validate the static and dynamic configuration
  gateway version                                      print the version
  gateway certs sm2 --out DIR --host NAME...           write SM2 test certificates for TLCP

The static configuration comes from exactly one source, the first of:
  --configFile=PATH    a TOML, YAML or JSON file (alias --configfile)
  static flags         every key as --<key>=<value>, keys separated by dots:
                         --entryPoints.web.address=:80 --api.insecure
                         --providers.file.directory=/etc/guan/dynamic
                       a bare boolean means true, a bare section enables it
                       with its defaults (--ping, --metrics.prometheus);
                       lists are comma-separated or indexed ([0], [1], ...)
  environment          GUAN_<KEY>=<value> (or TRAEFIK_<KEY>), upper case,
                       "_" between the elements of the key:
                         GUAN_ENTRYPOINTS_WEB_ADDRESS=:80 GUAN_API_INSECURE=true
  ./traefik-style.toml if it exists, else the copy embedded in the binary
A --configFile combined with static flags is an error. Keys are those of the
file (docs/configuration/static.md), matched case-insensitively.
`

func run(args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 && args[0] == "certs" {
		return certs(args[1:], stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "check" || args[0] == "version") {
		cmd, args = args[0], args[1:]
	}
	src, help, err := parseArgs(args)
	if help {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\nRun 'gateway --help' for usage.\n", err)
		return 2
	}
	switch cmd {
	case "version":
		fmt.Fprintf(stdout, "Version:      %s\nCodename:     %s\nGo version:   %s\nOS/Arch:      %s/%s\n",
			guan.Version, guan.Codename, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "check":
		return check(src, stdout, stderr)
	}
	return serve(src, stderr)
}

// parseArgs reads the command line after the command: --configFile, or
// static configuration flags. Flags take one or two dashes, and the value
// after "=" or, for a key that is not a boolean or a section, as the next
// argument ("--configFile traefik.toml", "--log.level DEBUG").
func parseArgs(args []string) (src staticSource, help bool, err error) {
	src.environ = os.Environ()
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
			return src, false, fmt.Errorf("unknown argument %q; commands are: check, version, certs", arg)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		switch strings.ToLower(name) {
		case "h", "help":
			return src, true, nil
		case "configfile":
			if !hasValue {
				if i+1 >= len(args) {
					return src, false, fmt.Errorf("%s needs a value: --configFile=PATH", arg)
				}
				i++
				value = args[i]
			}
			if value == "" {
				return src, false, fmt.Errorf("%s: the path is empty", arg)
			}
			src.configFile, src.configFlag = value, strings.TrimSuffix(arg, "="+value)
			continue
		}
		s := decode.Flag(arg)
		if s.Bare && !static.IsSwitch(s.Path) && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			s.Value, s.Bare = args[i], false
		}
		src.flags = append(src.flags, s)
	}
	if src.configFile != "" && len(src.flags) > 0 {
		return src, false, fmt.Errorf("%s: static flags cannot be combined with %s: the static configuration comes from one source only (a file, flags or environment variables)",
			src.flags[0].Name, src.configFlag)
	}
	return src, false, nil
}
