# NixOS module: services.benchd.
#
# Installs benchd's systemd unit and the sshd policy for the agent's login,
# both rendered from the plain templates next to this file (benchd.service,
# sshd-benchd.conf, authorized_keys.options) by render.nix, the same
# templates the e2e tests in internal/e2e render and run against.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.benchd;
  inherit (lib) mkOption types;

  rendered = import ./render.nix {
    benchd = "${cfg.package}/bin/benchd";
    inherit (cfg)
      socket
      container
      ollama
      vramSource
      extraArgs
      user
      ;
    group = cfg.user;
    # shadow's nologin, the shell NixOS gives system users.
    forceCommand = "${pkgs.shadow}/bin/nologin";
    # Where users.users.<name>.openssh.authorizedKeys.keys are written.
    authorizedKeysFile = "/etc/ssh/authorized_keys.d/%u";
  };

  userCfg = config.users.users.${cfg.user};
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
        The account benchd runs as and the agent logs in as. A normal user
        with no password, no sudo and NOT in the docker group: only the
        service process gets the docker group (SupplementaryGroups).
      '';
    };

    authorizedKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... agent@laptop" ];
      description = ''
        The agent's public keys, without options. Each is written to
        /etc/ssh/authorized_keys.d/<user> behind the options of
        nix/authorized_keys.options (restrict, port forwarding only to the
        socket, a refusing command), and sshd gets the `Match User` block of
        nix/sshd-benchd.conf.
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
          && !(lib.elem cfg.user (config.users.groups.docker.members or [ ]));
        message = "${cfg.user} must not be in the docker group: that is root on the host. Only the benchd service gets the group (SupplementaryGroups).";
      }
      {
        assertion =
          !(lib.elem "wheel" userCfg.extraGroups) && !(lib.elem cfg.user (config.users.groups.wheel.members or [ ]));
        message = "${cfg.user} must not be in wheel (no sudo).";
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
        message = "services.benchd.authorizedKeys needs services.openssh.enable: the agent reaches benchd through `ssh -N -L`.";
      }
    ];

    users.groups.${cfg.user} = { };
    users.users.${cfg.user} = {
      isNormalUser = true;
      group = cfg.user;
      description = "benchd service and the agent's SSH tunnel";
      # No password (key only), no shell.
      hashedPassword = "!";
      useDefaultShell = false;
      shell = pkgs.shadow;
      openssh.authorizedKeys.keys = map (k: "${rendered.keyOptions} ${k}") cfg.authorizedKeys;
    };

    # The rendered unit file, verbatim.
    systemd.units."benchd.service" = {
      text = rendered.unit;
      wantedBy = [ "multi-user.target" ];
    };

    # Appended to sshd_config; harmless while sshd is off.
    services.openssh.extraConfig = rendered.sshdConfig;
  };
}
