package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/benchd/benchd/certs"
)

const certsUsage = `usage:
  benchctl certs init DIR [--server-san NAME]... [--client-name NAME] [--days N] [--ca-days N] [--key-type ecdsa-p256|ed25519]
      a new CA, server and client certificate in DIR (refuses to replace files)
  benchctl certs client DIR --name NAME [--days N] [--key-type T] [--force]
      another client certificate (NAME.crt, NAME.key) from DIR's CA
  benchctl certs server DIR [--server-san NAME]... [--days N] [--key-type T] [--force]
      a new server certificate (server.crt, server.key) from DIR's CA

Keys are written 0600, certificates 0644. See certs/README.md for deployment
and rotation.
`

// certsCmd makes the CA and certificates of benchd's mutual TLS. It needs
// no daemon.
func certsCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, certsUsage)
		return usageError{errors.New("certs: a subcommand is required")}
	}
	sub, args := args[0], args[1:]
	if sub == "help" || sub == "-h" || sub == "--help" {
		fmt.Fprint(stdout, certsUsage)
		return nil
	}
	fs := flag.NewFlagSet("certs "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, certsUsage) }
	var (
		sans    repeated
		days    = fs.Int("days", 365, "validity of the server and client certificates, in days")
		keyType = fs.String("key-type", string(certs.ECDSAP256), "key algorithm: ecdsa-p256 or ed25519")
		caDays  *int
		name    *string
		force   *bool
	)
	switch sub {
	case "init":
		fs.Var(&sans, "server-san", "DNS name or IP address of the server certificate (repeatable; default localhost, 127.0.0.1, ::1)")
		name = fs.String("client-name", certs.DefaultClientName, "client certificate's name (its CN, and NAME.crt/NAME.key)")
		caDays = fs.Int("ca-days", 3650, "validity of the CA, in days")
	case "client":
		name = fs.String("name", "", "client certificate's name (its CN, and NAME.crt/NAME.key)")
		force = fs.Bool("force", false, "replace existing NAME.crt/NAME.key")
	case "server":
		fs.Var(&sans, "server-san", "DNS name or IP address of the server certificate (repeatable; default localhost, 127.0.0.1, ::1)")
		force = fs.Bool("force", false, "replace existing server.crt/server.key")
	default:
		fmt.Fprint(stderr, certsUsage)
		return usageError{fmt.Errorf("certs: unknown subcommand %q", sub)}
	}
	// DIR may come before the flags, as in `benchctl certs init ./pki --days 30`.
	dir := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	if dir == "" {
		return usageError{fmt.Errorf("certs %s: DIR is required", sub)}
	}
	if *days <= 0 || (caDays != nil && *caDays <= 0) {
		return usageError{errors.New("certs: --days and --ca-days must be positive")}
	}
	kt := certs.KeyType(*keyType)
	switch kt {
	case certs.ECDSAP256, certs.Ed25519:
	default:
		return usageError{fmt.Errorf("certs: --key-type %q: want %s or %s", *keyType, certs.ECDSAP256, certs.Ed25519)}
	}

	if sub == "init" {
		f, err := certs.Init(dir, certs.InitOptions{
			ServerSANs: sans, ClientName: *name, KeyType: kt, LeafDays: *days, CADays: *caDays,
		})
		if err != nil {
			return err
		}
		for _, p := range []string{f.CACert, f.CAKey, f.ServerCert, f.ServerKey, f.ClientCert, f.ClientKey} {
			printFile(stdout, p)
		}
		fmt.Fprintf(stdout, `
benchd:    --listen tcp://HOST:PORT --tls-cert %[1]s --tls-key %[2]s --tls-client-ca %[3]s
benchctl:  --host tcp://HOST:PORT --tls-cert %[4]s --tls-key %[5]s --tls-ca %[3]s
client:    client.Dial(ctx, "tcp://HOST:PORT", client.WithTLS(%[4]q, %[5]q, %[3]q))
Keep %[6]s offline once you have issued what you need; it signs every identity benchd trusts.
`, f.ServerCert, f.ServerKey, f.CACert, f.ClientCert, f.ClientKey, f.CAKey)
		return nil
	}

	if sub == "client" {
		if *name == "" {
			return usageError{errors.New("certs client: --name is required")}
		}
		if *name == "ca" || *name == "server" {
			return usageError{fmt.Errorf("certs client: name %q would replace the %s files", *name, *name)}
		}
	}
	ca, err := certs.LoadCA(filepath.Join(dir, certs.CACert), filepath.Join(dir, certs.CAKey))
	if err != nil {
		return fmt.Errorf("certs %s: load the CA: %w", sub, err)
	}
	var (
		kp        *certs.KeyPair
		cert, key string
	)
	opts := certs.Days(*days, kt)
	switch sub {
	case "client":
		cert, key = certs.ClientFiles(dir, *name)
		kp, err = ca.IssueClient(*name, opts)
	case "server":
		cert, key = filepath.Join(dir, certs.ServerCert), filepath.Join(dir, certs.ServerKey)
		kp, err = ca.IssueServer(sans, opts)
	}
	if err != nil {
		return err
	}
	if err := kp.WriteFiles(cert, key, *force); err != nil {
		if !*force {
			err = fmt.Errorf("%w (--force replaces it)", err)
		}
		return err
	}
	printFile(stdout, cert)
	printFile(stdout, key)
	fmt.Fprintf(stdout, "%s\n", certs.Describe(kp.Cert))
	return nil
}

func printFile(w io.Writer, path string) {
	mode := "?"
	if fi, err := os.Stat(path); err == nil {
		mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	}
	fmt.Fprintf(w, "wrote %s %s\n", mode, path)
}
