# Renders the deployment templates of this directory (benchd.service, and
# sshd-benchd.conf with authorized_keys.options or, for transport =
# "dial-stdio", sshd-benchd-dial-stdio.conf with
# authorized_keys-dial-stdio.options) for one configuration.
#
# Pure builtins, no nixpkgs: module.nix calls it to install the files, and
# internal/e2e evaluates it with `nix-instantiate --eval` to check that the Go
# harness (internal/testrig/deploy.go), which renders the same templates for the
# e2e tests, produces byte-for-byte the same text.
{
  # Absolute path of the benchd binary.
  benchd,
  socket ? "/run/benchd/benchd.sock",
  # The history database; in /var/lib/benchd, the unit's StateDirectory.
  store ? "/var/lib/benchd/history.db",
  container ? "ollama",
  # "docker-exec" or an http:// URL.
  ollama ? "docker-exec",
  vramSource ? "auto",
  # More benchd flags, one word each (e.g. [ "--log-level" "debug" ]).
  extraArgs ? [ ],
  # tcp://HOST:PORT of the Prometheus exporter (benchd --metrics); the
  # unit then has IP networking, which docker-exec mode otherwise lacks.
  metrics ? null,
  # The agent's SSH login, the sshd block's Match User. A client of benchd.
  user ? "ai-worker",
  # The account the daemon runs as (the unit's User=) and its group (Group=,
  # the socket's group, of which the login is a member). With serviceUser =
  # user the daemon runs as the login, the legacy layout.
  serviceUser ? "benchd",
  serviceGroup ? serviceUser,
  # The unit's MemoryMax=, TasksMax= and LimitNOFILE=.
  memoryMax ? "512M",
  tasksMax ? "256",
  limitNOFILE ? "4096",
  # How the agent reaches the socket over SSH, i.e. which pair of sshd block
  # and key options is rendered:
  #   "forward"     sshd-benchd.conf, authorized_keys.options: the agent runs
  #                 `ssh -N -L <local>:<socket>`; local forwards to the socket
  #                 only, every session runs forceCommand (nologin).
  #   "dial-stdio"  sshd-benchd-dial-stdio.conf,
  #                 authorized_keys-dial-stdio.options: the agent runs
  #                 `ssh -T`; every session runs the bridge
  #                 "<benchd> dial-stdio --socket <socket>", no forwarding.
  transport ? "forward",
  # The command every SSH session of the user runs instead of what it asked
  # for (sshd's ForceCommand and the key's command=). With transport =
  # "forward": nologin, which refuses; required. An absolute path, optionally
  # followed by plain words. With transport = "dial-stdio" the command is the
  # bridge, derived from benchd and socket; leave this out (null).
  forceCommand ? null,
  # sshd's AuthorizedKeysFile for the user (sshd expands %u).
  authorizedKeysFile ? "/etc/ssh/authorized_keys.d/%u",
}:
let
  inherit (builtins)
    concatStringsSep
    filter
    isString
    length
    match
    readFile
    replaceStrings
    split
    stringLength
    substring
    ;

  # Values go into a systemd command line, sshd_config and an authorized_keys
  # option unquoted, so they are limited to characters that mean nothing to
  # any of the three (no space, quote, backslash, %, $, @, #).
  check =
    name: pattern: value:
    if isString value && match pattern value != null then
      value
    else
      throw "benchd: ${name} = \"${toString value}\" is not allowed here (want ${pattern})";
  word = name: check name "[A-Za-z0-9._/:,+=-]+";
  absPath = name: check name "/[A-Za-z0-9._/+-]*";

  dockerExec = ollama == "docker-exec";
  # No IP at all unless ollama is reached over http:// or metrics are served.
  noIP = dockerExec && metrics == null;
  ollama' =
    if dockerExec || match "http://[A-Za-z0-9._:/-]+" ollama != null then
      ollama
    else
      throw "benchd: ollama = \"${ollama}\": want docker-exec or an http:// URL";

  socket' =
    if stringLength socket > 107 then
      throw "benchd: socket ${socket} is longer than the 107 bytes of a unix socket path"
    else
      absPath "socket" socket;

  dialStdio =
    if transport == "forward" then
      false
    else if transport == "dial-stdio" then
      true
    else
      throw "benchd: transport = \"${toString transport}\": want forward or dial-stdio";
  commandPattern = "/[A-Za-z0-9._/+-]*( [A-Za-z0-9._/:,+=-]+)*";
  forceCommand' =
    if dialStdio then
      if forceCommand != null then
        throw "benchd: forceCommand is not taken with transport = \"dial-stdio\": every session runs the bridge, <benchd> dial-stdio --socket <socket>"
      else
        check "forceCommand" commandPattern "${absPath "benchd" benchd} dial-stdio --socket ${socket'}"
    else if forceCommand == null then
      throw "benchd: forceCommand is required with transport = \"forward\""
    else
      check "forceCommand" commandPattern forceCommand;
  templates =
    if dialStdio then
      {
        sshd = ./sshd-benchd-dial-stdio.conf;
        keys = ./authorized_keys-dial-stdio.options;
      }
    else
      {
        sshd = ./sshd-benchd.conf;
        keys = ./authorized_keys.options;
      };

  vars = {
    benchd = absPath "benchd" benchd;
    socket = socket';
    store = absPath "store" store;
    container = word "container" container;
    ollama = ollama';
    vramSource = check "vramSource" "auto|sysfs|rocm-smi|amd-smi|nvidia-smi|none" vramSource;
    extraArgs = concatStringsSep "" (
      map (a: " " + word "extraArgs" a) (extraArgs ++ (if metrics == null then [ ] else [ "--metrics" metrics ]))
    );
    user = word "user" user;
    serviceUser = word "serviceUser" serviceUser;
    serviceGroup = word "serviceGroup" serviceGroup;
    # The login is admitted by name when it is not the daemon's own account
    # (benchd always admits its own uid).
    allowUsers = if serviceUser == user then "" else " --allow-user ${word "user" user}";
    memoryMax = check "memoryMax" "[0-9]+[KMGT]?|[0-9]+%|infinity" memoryMax;
    tasksMax = check "tasksMax" "[0-9]+|[0-9]+%|infinity" tasksMax;
    limitNOFILE = check "limitNOFILE" "[0-9]+(:[0-9]+)?|infinity" limitNOFILE;
    forceCommand = forceCommand';
    authorizedKeysFile = check "authorizedKeysFile" "/[A-Za-z0-9._/%+-]*" authorizedKeysFile;
    # docker-exec needs no network at all; an http:// ollama needs IP.
    privateNetwork = if noIP then "yes" else "no";
    ipAddressDeny = if noIP then "any" else "";
    addressFamilies = if noIP then "AF_UNIX" else "AF_UNIX AF_INET AF_INET6";
  };

  names = builtins.attrNames vars;
  fill = text: replaceStrings (map (n: "@${n}@") names) (map (n: vars.${n}) names) text;
  render =
    file:
    let
      out = fill (readFile file);
      left = filter (x: !isString x) (split "@[A-Za-z]+@" out);
    in
    if left == [ ] then out else throw "benchd: ${toString file} has unknown placeholders left";

  stringToCharacters = text: map (i: substring i 1 text) (builtins.genList (i: i) (stringLength text));
  lines = text: filter (l: isString l && l != "" && substring 0 1 l != "#") (split "\n" text);
  keyOptionLines = lines (render templates.keys);
  sshdConfig = render templates.sshd;
in
{
  inherit vars sshdConfig;
  unit = render ./benchd.service;
  # The module's assertions on the final sshd extraConfig (internal/e2e
  # evaluates both). blockIsFirst: it starts with the block, so no Match can
  # precede it. acceptEnvAfterBlock: an AcceptEnv line follows the block.
  # AcceptEnv is the one keyword of the block that does not take the first
  # value: every matching Match block's names are added to the list, so a
  # later Match (even "Match all") could hand the login's session
  # environment variables again.
  blockIsFirst = extraConfig: substring 0 (stringLength sshdConfig) extraConfig == sshdConfig;
  acceptEnvAfterBlock =
    extraConfig:
    let
      rest = substring (stringLength sshdConfig) (stringLength extraConfig) extraConfig;
      lower = replaceStrings (stringToCharacters "ACCEPTENV") (stringToCharacters "acceptenv") rest;
    in
    length (split "acceptenv" lower) > 1;
  keyOptions =
    if length keyOptionLines == 1 then
      builtins.head keyOptionLines
    else
      throw "benchd: ${baseNameOf templates.keys} must have exactly one non-comment line";
}
