package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/benchd/benchd/certs"
	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
)

// certsLong is what `benchctl certs --help` says besides the subcommands.
const certsLong = `Make the CA and the certificates of benchd's mutual TLS (tcp://). Keys are
written 0600, certificates 0644. See certs/README.md for deployment and
rotation. No daemon is needed.`

// certFlags are the flags of the certs subcommands; each takes some.
type certFlags struct {
	sans          []string
	days, caDays  int
	keyType, name string
	force         bool
}

func (f *certFlags) addCommon(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.days, "days", 365, "validity of the server and client certificates, in days")
	cmd.Flags().StringVar(&f.keyType, "key-type", string(certs.ECDSAP256), "key algorithm: ecdsa-p256 or ed25519")
	_ = cmd.RegisterFlagCompletionFunc("key-type", cobra.FixedCompletions(
		[]string{string(certs.ECDSAP256), string(certs.Ed25519)}, cobra.ShellCompDirectiveNoFileComp))
}

func (f *certFlags) addSANs(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.sans, "server-san", nil, "DNS name or IP address of the server certificate (repeatable; default localhost, 127.0.0.1, ::1)")
}

// check validates what every subcommand shares.
func (f *certFlags) check(sub string) (certs.KeyType, error) {
	if f.days <= 0 {
		return "", usagef("certs %s: --days must be positive", sub)
	}
	kt := certs.KeyType(f.keyType)
	switch kt {
	case certs.ECDSAP256, certs.Ed25519:
		return kt, nil
	}
	return "", usagef("certs %s: --key-type %q: want %s or %s", sub, f.keyType, certs.ECDSAP256, certs.Ed25519)
}

// certsCmd makes the CA and certificates of benchd's mutual TLS. It needs
// no daemon.
func (a *app) certsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make the CA and certificates of benchd's mutual TLS",
		Long:  certsLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && args[0] == "help": // as before cobra
				return cmd.Help()
			case len(args) > 0:
				return usagef("certs: unknown subcommand %q: want init, client or server", args[0])
			}
			return usagef("certs: a subcommand is required: init, client or server")
		},
	}
	cmd.AddCommand(a.certsInitCmd(), a.certsIssueCmd("client"), a.certsIssueCmd("server"))
	for _, sub := range cmd.Commands() {
		a.accepts(sub, report.Table)
	}
	return cmd
}

func (a *app) certsInitCmd() *cobra.Command {
	var f certFlags
	cmd := &cobra.Command{
		Use:   "init DIR",
		Short: "A new CA, server and client certificate in DIR (refuses to replace files)",
		Args:  argsUsage(cobra.ExactArgs(1), "DIR is required"),
		RunE: a.runE(false, func(_ context.Context, _ *client.Client, _ *cobra.Command, args []string) error {
			if f.caDays <= 0 {
				return usagef("certs init: --ca-days must be positive")
			}
			kt, err := f.check("init")
			if err != nil {
				return err
			}
			files, err := certs.Init(args[0], certs.InitOptions{
				ServerSANs: f.sans, ClientName: f.name, KeyType: kt, LeafDays: f.days, CADays: f.caDays,
			})
			if err != nil {
				return fmt.Errorf("certs init: %w", err)
			}
			stdout := a.e.stdout
			for _, p := range []string{files.CACert, files.CAKey, files.ServerCert, files.ServerKey, files.ClientCert, files.ClientKey} {
				printFile(stdout, p)
			}
			fmt.Fprintf(stdout, `
benchd:    --listen tcp://HOST:PORT --tls-cert %[1]s --tls-key %[2]s --tls-client-ca %[3]s
benchctl:  --host tcp://HOST:PORT --tls-cert %[4]s --tls-key %[5]s --tls-ca %[3]s
client:    client.Dial(ctx, "tcp://HOST:PORT", client.WithTLS(%[4]q, %[5]q, %[3]q))
Keep %[6]s offline once you have issued what you need; it signs every identity benchd trusts.
`, files.ServerCert, files.ServerKey, files.CACert, files.ClientCert, files.ClientKey, files.CAKey)
			return nil
		}),
	}
	f.addCommon(cmd)
	f.addSANs(cmd)
	cmd.Flags().StringVar(&f.name, "client-name", certs.DefaultClientName, "client certificate's name (its CN, and NAME.crt/NAME.key)")
	cmd.Flags().IntVar(&f.caDays, "ca-days", 3650, "validity of the CA, in days")
	return cmd
}

// certsIssueCmd is `certs client` or `certs server`: another certificate
// from DIR's CA.
func (a *app) certsIssueCmd(sub string) *cobra.Command {
	var f certFlags
	cmd := &cobra.Command{
		Use:   sub + " DIR",
		Short: "Another client certificate (NAME.crt, NAME.key) from DIR's CA",
		Args:  argsUsage(cobra.ExactArgs(1), "DIR is required"),
		RunE: a.runE(false, func(_ context.Context, _ *client.Client, _ *cobra.Command, args []string) error {
			kt, err := f.check(sub)
			if err != nil {
				return err
			}
			return a.issue(args[0], sub, kt, f)
		}),
	}
	f.addCommon(cmd)
	switch sub {
	case "client":
		cmd.Flags().StringVar(&f.name, "name", "", "client certificate's name (its CN, and NAME.crt/NAME.key)")
		cmd.Flags().BoolVar(&f.force, "force", false, "replace existing NAME.crt/NAME.key")
	case "server":
		cmd.Short = "A new server certificate (server.crt, server.key) from DIR's CA"
		f.addSANs(cmd)
		cmd.Flags().BoolVar(&f.force, "force", false, "replace existing server.crt/server.key")
	}
	return cmd
}

func (a *app) issue(dir, sub string, kt certs.KeyType, f certFlags) error {
	if sub == "client" {
		if f.name == "" {
			return usagef("certs client: --name is required")
		}
		if f.name == "ca" || f.name == "server" {
			return usagef("certs client: name %q would replace the %s files", f.name, f.name)
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
	opts := certs.Days(f.days, kt)
	if sub == "client" {
		cert, key = certs.ClientFiles(dir, f.name)
		kp, err = ca.IssueClient(f.name, opts)
	} else {
		cert, key = filepath.Join(dir, certs.ServerCert), filepath.Join(dir, certs.ServerKey)
		kp, err = ca.IssueServer(f.sans, opts)
	}
	if err != nil {
		return fmt.Errorf("certs %s: %w", sub, err)
	}
	if err := kp.WriteFiles(cert, key, f.force); err != nil {
		if !f.force {
			err = fmt.Errorf("%w (--force replaces it)", err)
		}
		return fmt.Errorf("certs %s: %w", sub, err)
	}
	printFile(a.e.stdout, cert)
	printFile(a.e.stdout, key)
	fmt.Fprintf(a.e.stdout, "%s\n", certs.Describe(kp.Cert))
	return nil
}

func printFile(w io.Writer, path string) {
	mode := "?"
	if fi, err := os.Stat(path); err == nil {
		mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	}
	fmt.Fprintf(w, "wrote %s %s\n", mode, path)
}
