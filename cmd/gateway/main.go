// Command gateway runs Guan. Usage:
//
//	gateway [--configFile=PATH]          run the gateway
//	gateway check [--configFile=PATH]    validate static and dynamic configuration
//	gateway version                      print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/guan-gateway/guan"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 && (args[0] == "check" || args[0] == "version") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("configFile", "", "static configuration file (TOML or YAML); default ./traefik-style.toml, else the embedded default")
	fs.StringVar(configFile, "configfile", "", "alias of --configFile")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unknown argument %q; commands are: check, version\n", fs.Arg(0))
		return 2
	}
	switch cmd {
	case "version":
		fmt.Fprintf(stdout, "Version:      %s\nCodename:     %s\nGo version:   %s\nOS/Arch:      %s/%s\n",
			guan.Version, guan.Codename, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "check":
		return check(*configFile, stdout, stderr)
	}
	return serve(*configFile, stderr)
}
