# NixOS module: services.benchd.
#
# Installs benchd's systemd unit and the sshd policy for the agent's login,
# both rendered from the plain templates next to this file (benchd.service;
# sshd-benchd.conf and authorized_keys.options, or for transport =
# "dial-stdio" sshd-benchd-dial-stdio.conf and
# authorized_keys-dial-stdio.options) by render.nix, the same templates the
# e2e tests in internal/e2e render and run against.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.benchd;
  inherit (lib) mkOption types;
  dialStdio = cfg.transport == "dial-stdio";
  # The default: the daemon and the agent's login are separate accounts.
  split = cfg.serviceUser != cfg.user;

  # The history's retention and the stall timeout, when set, as the
  # flags they are (benchd's own defaults otherwise; docs/benchd.md).
  boundArgs =
    lib.optionals (cfg.retainRuns != null) [ "--retain-runs" (toString cfg.retainRuns) ]
    ++ lib.optionals (cfg.retainBytes != null) [ "--retain-bytes" (toString cfg.retainBytes) ]
    ++ lib.optionals (cfg.stallTimeout != null) [ "--stall-timeout" cfg.stallTimeout ];

  rendered = import ./render.nix {
    benchd = "${cfg.package}/bin/benchd";
    extraArgs = boundArgs ++ lib.optional cfg.metrics.tls "--metrics-tls" ++ cfg.extraArgs;
    metrics = cfg.metrics.listen;
    inherit (cfg)
      socket
      container
      ollama
      vramSource
      user
      serviceUser
      transport
      ;
    serviceGroup = cfg.serviceUser;
    memoryMax = toString cfg.memoryMax;
    tasksMax = toString cfg.tasksMax;
    limitNOFILE = toString cfg.limitNOFILE;
    # forward: every session runs shadow's nologin, the shell NixOS gives
    # system users. dial-stdio: render.nix makes every session run the
    # bridge, "<benchd> dial-stdio --socket <socket>", and takes no command.
    forceCommand = if dialStdio then null else "${pkgs.shadow}/bin/nologin";
    # Where users.users.<name>.openssh.authorizedKeys.keys are written.
    authorizedKeysFile = "/etc/ssh/authorized_keys.d/%u";
  };

  userCfg = config.users.users.${cfg.user};
  serviceCfg = config.users.users.${cfg.serviceUser};
  sshCfg = config.services.openssh;
  ptraceScope = config.boot.kernel.sysctl."kernel.yama.ptrace_scope" or null;
  isPublicKey = k: builtins.match "(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( .*)?" k != null;
in
{
  options.services.benchd = {
    enable = lib.mkEnableOption "benchd, the benchmark daemon that is the only process talking to Docker";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./nix/package.nix { }";
      description = "The benchd package (the flake's `packages.<system>.default`).";
    };

    socket = mkOption {
      type = types.str;
      default = "/run/benchd/benchd.sock";
      description = ''
        Unix socket benchd serves on. It must lie in /run/benchd, the unit's
        RuntimeDirectory: the rest of the file system is read-only to the
        service. The agent forwards to exactly this path.
      '';
    };

    container = mkOption {
      type = types.str;
      default = "ollama";
      description = "Name of the Docker container running ollama.";
    };

    ollama = mkOption {
      type = types.str;
      default = "docker-exec";
      example = "http://127.0.0.1:11434";
      description = ''
        How benchd reaches ollama: `docker-exec` (through the Docker API's
        exec stdio; the service then runs without any network: PrivateNetwork,
        IPAddressDeny=any, AF_UNIX only) or an `http://` URL (adds AF_INET and
        AF_INET6 and keeps the host network).
      '';
    };

    vramSource = mkOption {
      type = types.enum [
        "auto"
        "sysfs"
        "rocm-smi"
        "amd-smi"
        "nvidia-smi"
        "none"
      ];
      default = "auto";
      description = ''
        Where VRAM readings come from. None of them needs /dev in benchd's
        process (sysfs reads /sys; the SMI tools run inside the container), so
        the unit keeps PrivateDevices=yes for all of them.
      '';
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [
        "--log-level"
        "debug"
      ];
      description = "More benchd flags, one word per element.";
    };

    user = mkOption {
      type = types.str;
      default = "ai-worker";
      description = ''
        The agent's SSH login: a normal user with no password, no sudo and
        NOT in the docker group, whose key reaches benchd's socket and
        nothing else. A client of benchd: a member of the daemon's group
        (which lets it connect to the socket) and admitted by peer
        credentials (`--allow-user`).
      '';
    };

    serviceUser = mkOption {
      type = types.str;
      default = "benchd";
      description = ''
        The account benchd runs as: a system user of its own, created by the
        module, with the docker group only as a supplementary group of the
        service process. Nothing that runs as the agent's login can then
        signal, trace or read the daemon (and with it its Docker socket),
        replace its socket, or read or lock its store and keys
        (internal/e2e `TestIdentitySeparation`).

        Setting it to the value of `user` restores the legacy layout, in
        which the daemon runs as the agent's login; everything listed above
        is then open to code that runs as that login (the same test records
        it). Do not, unless something forces you to.
      '';
    };

    retainRuns = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      example = 2000;
      description = "Most benchmarks the history keeps (`--retain-runs`; benchd's default 10000); the oldest ended ones go first.";
    };

    retainBytes = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      example = 64 * 1024 * 1024;
      description = "Most bytes of records the history keeps (`--retain-bytes`; benchd's default 256 MiB); its file stays within about twice it.";
    };

    stallTimeout = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "30s";
      description = "End a generation that sends no token for this long after its first with UNAVAILABLE (`--stall-timeout`, a Go duration; benchd's default 1m).";
    };

    metrics = {
      listen = mkOption {
        type = types.nullOr (types.strMatching "tcp://[A-Za-z0-9.:_\\[\\]-]+:[0-9]+");
        default = null;
        example = "tcp://0.0.0.0:9464";
        description = ''
          Serve Prometheus metrics (OpenMetrics) at /metrics on this address
          (`--metrics`): GPU telemetry and VRAM, benchmarks by state, the last
          result per model, gRPC server metrics (docs/metrics.md). The unit then
          gets IP networking, which docker-exec mode otherwise does without.
          Open the port in networking.firewall yourself, for the scraper only.
        '';
      };
      tls = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Require the mutual TLS of `--listen` on the exporter (`--metrics-tls`;
          give `--tls-cert`, `--tls-key`, `--tls-client-ca` in extraArgs): the
          scraper then needs a client certificate the CA signed.
        '';
      };
    };

    memoryMax = mkOption {
      type = types.str;
      default = "512M";
      description = "The unit's MemoryMax= (benchd idles at about 25 MiB).";
    };

    tasksMax = mkOption {
      type = types.either types.ints.positive types.str;
      default = 256;
      description = "The unit's TasksMax= (threads; benchd runs no programs).";
    };

    limitNOFILE = mkOption {
      type = types.either types.ints.positive types.str;
      default = 4096;
      description = "The unit's LimitNOFILE= (open files and sockets).";
    };

    transport = mkOption {
      type = types.enum [
        "forward"
        "dial-stdio"
      ];
      default = "forward";
      description = ''
        How the agent reaches benchd's socket over SSH.

        `forward`: `ssh -N -L <local.sock>:<socket> user@host`, then the Go
        client on the local socket. The sshd block and the key allow local
        forwards to the socket and nothing else; every session runs nologin.

        `dial-stdio`: `ssh -T user@host`, whose session sshd connects to
        `benchd dial-stdio`, a bridge from stdin/stdout to the socket
        (`client.NewSSH` in Go; the docker/buildkit connhelper pattern). The
        sshd block forces that command on every session (ForceCommand) and
        turns all forwarding off; the key carries
        `restrict,command="<benchd> dial-stdio --socket <socket>"`. sshd runs a
        forced command through the login shell, so the user's shell becomes
        dash instead of nologin (the forced command is all it ever runs).
      '';
    };

    authorizedKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... agent@laptop" ];
      description = ''
        The agent's public keys, without options. Each is written to
        /etc/ssh/authorized_keys.d/<user> behind the options of
        nix/authorized_keys.options (transport `forward`: restrict, port
        forwarding only to the socket, a refusing command) or
        nix/authorized_keys-dial-stdio.options (transport `dial-stdio`:
        restrict, the bridge as command), and sshd gets the `Match User` block
        of nix/sshd-benchd.conf or nix/sshd-benchd-dial-stdio.conf.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = lib.hasPrefix "/run/benchd/" cfg.socket;
        message = "services.benchd.socket must lie in /run/benchd (the unit's RuntimeDirectory), got ${cfg.socket}";
      }
      {
        assertion = config.virtualisation.docker.enable;
        message = "services.benchd needs virtualisation.docker.enable (the service joins the docker group).";
      }
      {
        assertion =
          !(lib.elem "docker" userCfg.extraGroups)
          && (userCfg.group or "") != "docker"
          && !(lib.elem cfg.user (config.users.groups.docker.members or [ ]));
        message = "${cfg.user} must not be in the docker group: that is root on the host. Only the benchd service gets the group (SupplementaryGroups).";
      }
      {
        assertion =
          !(lib.elem "wheel" userCfg.extraGroups)
          && (userCfg.group or "") != "wheel"
          && !(lib.elem cfg.user (config.users.groups.wheel.members or [ ]));
        message = "${cfg.user} must not be in wheel (no sudo).";
      }
      {
        assertion =
          !(lib.elem "docker" serviceCfg.extraGroups)
          && !(lib.elem (serviceCfg.group or "") [ "docker" "wheel" ])
          && !(lib.elem cfg.serviceUser (config.users.groups.docker.members or [ ]));
        message = "${cfg.serviceUser} must not be in the docker group as an account: the unit gives the service process the group (SupplementaryGroups), nothing else that runs as ${cfg.serviceUser} should have it.";
      }
      {
        # sshd takes the first value it finds, and a Match block before
        # benchd's that also matched the login would win. extraConfig
        # follows the global settings in sshd_config, so its start is the
        # earliest place a Match can stand (none may hide in settings).
        assertion = rendered.blockIsFirst sshCfg.extraConfig && !((sshCfg.settings or { }) ? Match);
        message = "services.benchd: its sshd Match block must come first in services.openssh.extraConfig (the module adds it with lib.mkOrder 0); something placed text before it, or a Match in services.openssh.settings, which would take precedence over benchd's policy for ${cfg.user}.";
      }
      {
        # AcceptEnv adds up over every matching Match block instead of
        # taking the first value like the block's other keywords, so a
        # later block could extend the one name the block accepts.
        assertion = !(rendered.acceptEnvAfterBlock sshCfg.extraConfig);
        message = "services.benchd: services.openssh.extraConfig has an AcceptEnv line after benchd's block; AcceptEnv accumulates across Match blocks, so it would reach ${cfg.user}'s sessions too. Put it in services.openssh.settings (global; benchd's block replaces the global list) or drop it.";
      }
      {
        # Same-uid tracing is the attack the separate service account
        # closes; Yama's scope 1 (descendants only) closes it for whatever
        # else runs as one account.
        assertion = ptraceScope != null && lib.toInt (toString ptraceScope) >= 1;
        message = "services.benchd needs boot.kernel.sysctl.\"kernel.yama.ptrace_scope\" >= 1 (the module sets 1 unless the host chose 2 or 3).";
      }
      {
        assertion = lib.all isPublicKey cfg.authorizedKeys;
        message = "services.benchd.authorizedKeys takes bare public keys (\"ssh-ed25519 AAAA... comment\"), without options: the module adds them.";
      }
      {
        # Keys set for the user anywhere else would lack the options.
        assertion =
          lib.all (k: lib.hasPrefix rendered.keyOptions k) userCfg.openssh.authorizedKeys.keys
          && userCfg.openssh.authorizedKeys.keyFiles == [ ];
        message = "Give ${cfg.user}'s keys through services.benchd.authorizedKeys only, not users.users.${cfg.user}.openssh.authorizedKeys.";
      }
      {
        assertion = cfg.authorizedKeys == [ ] || config.services.openssh.enable;
        message = "services.benchd.authorizedKeys needs services.openssh.enable: the agent reaches benchd through ${
          if dialStdio then "`ssh -T` (dial-stdio)" else "`ssh -N -L`"
        }.";
      }
    ];

    users.groups.${cfg.user} = { };
    users.users.${cfg.user} = {
      isNormalUser = true;
      group = cfg.user;
      # The daemon's group: lets the login connect to the socket (0660) and
      # enter /run/benchd (0750), nothing more (the unit's UMask=0077 keeps
      # every other file the daemon makes private to it).
      extraGroups = lib.optional split cfg.serviceUser;
      description = if split then "the agent's SSH login (a client of benchd)" else "benchd service and the agent's SSH tunnel";
      # No password (key only), no shell. With dial-stdio, sshd runs the
      # forced bridge through the login shell's -c, so the account gets dash
      # (no startup files for -c); the forced command is all it ever runs.
      hashedPassword = "!";
      useDefaultShell = false;
      shell = if dialStdio then pkgs.dash else pkgs.shadow;
      openssh.authorizedKeys.keys = map (k: "${rendered.keyOptions} ${k}") cfg.authorizedKeys;
    };
    users.groups.${cfg.serviceUser} = lib.mkIf split { };
    users.users.${cfg.serviceUser} = lib.mkIf split {
      isSystemUser = true;
      group = cfg.serviceUser;
      description = "benchd, the benchmark daemon";
    };

    # Yama: no tracing of processes that are not one's descendants. Below
    # mkDefault, so a host's own 2 or 3 wins; the assertion refuses 0.
    boot.kernel.sysctl."kernel.yama.ptrace_scope" = lib.mkOverride 1100 1;

    # The rendered unit file, verbatim.
    systemd.units."benchd.service" = {
      text = rendered.unit;
      wantedBy = [ "multi-user.target" ];
    };

    # The first lines of extraConfig, i.e. right after sshd_config's global
    # settings, where no other module's Match can precede it (asserted
    # above); the block ends with "Match all". Harmless while sshd is off.
    services.openssh.extraConfig = lib.mkOrder 0 rendered.sshdConfig;
  };
}
