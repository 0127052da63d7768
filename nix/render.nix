# Renders the deployment templates of this directory (benchd.service,
# sshd-benchd.conf, authorized_keys.options) for one configuration.
#
# Pure builtins, no nixpkgs: module.nix calls it to install the files, and
# internal/e2e evaluates it with `nix-instantiate --eval` to check that the Go
# harness (internal/testrig/sshd.go), which renders the same templates for the
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
  user ? "ai-worker",
  group ? user,
  # The command every SSH session of the user runs instead of what it asked
  # for (sshd's ForceCommand and the key's command=): nologin, which refuses.
  # An absolute path, optionally followed by plain words, so that a bridge
  # such as "/.../benchd dial-stdio --socket /run/benchd/benchd.sock" fits.
  forceCommand,
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

  vars = {
    benchd = absPath "benchd" benchd;
    socket = socket';
    store = absPath "store" store;
    container = word "container" container;
    ollama = ollama';
    vramSource = check "vramSource" "auto|sysfs|rocm-smi|amd-smi|nvidia-smi|none" vramSource;
    extraArgs = concatStringsSep "" (map (a: " " + word "extraArgs" a) extraArgs);
    user = word "user" user;
    group = word "group" group;
    forceCommand = check "forceCommand" "/[A-Za-z0-9._/+-]*( [A-Za-z0-9._/:,+=-]+)*" forceCommand;
    authorizedKeysFile = check "authorizedKeysFile" "/[A-Za-z0-9._/%+-]*" authorizedKeysFile;
    # docker-exec needs no network at all; an http:// ollama needs IP.
    privateNetwork = if dockerExec then "yes" else "no";
    ipAddressDeny = if dockerExec then "any" else "";
    addressFamilies = if dockerExec then "AF_UNIX" else "AF_UNIX AF_INET AF_INET6";
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

  lines = text: filter (l: isString l && l != "" && substring 0 1 l != "#") (split "\n" text);
  keyOptionLines = lines (render ./authorized_keys.options);
in
{
  inherit vars;
  unit = render ./benchd.service;
  sshdConfig = render ./sshd-benchd.conf;
  keyOptions =
    if length keyOptionLines == 1 then
      builtins.head keyOptionLines
    else
      throw "benchd: authorized_keys.options must have exactly one non-comment line";
}
