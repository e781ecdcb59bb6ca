# A tiny NixOS-style module evaluator for tests/unit/deploy/test_nix.py.
#
# `config` is what a configuration.nix would set. The options the module declares under
# services.ai-stack get their values from it, or their defaults, and every value is checked
# against its declared type (an unknown option or a wrong type throws, as NixOS does). The module's
# own `config` (mkIf, mkMerge, mkDefault resolved; attrsets merged; lists concatenated) is the
# result: systemd units, services.postgresql, … Options declared by nixpkgs' own modules are not
# modelled: those definitions come out as they went in.
{
  module,
  pkgs,
  config ? { },
}:
let
  lib = import ./lib.nix;
  # What NixOS' own modules would provide that nix/module.nix reads.
  nixosConfig = {
    services.postgresql.package = pkgs.postgresql;
  };
  showPath = path: builtins.concatStringsSep "." path;
  strip = v: if builtins.isAttrs v && (v._type or null) == "override" then strip v.content else v;

  resolve =
    path: options: defs:
    let
      unknown = builtins.filter (n: !(options ? ${n})) (builtins.attrNames defs);
    in
    if !builtins.isAttrs defs then
      throw "The option `${showPath path}' is not an attribute set of options."
    else if unknown != [ ] then
      throw "The option `${showPath (path ++ [ (builtins.head unknown) ])}' does not exist."
    else
      builtins.mapAttrs (
        n: o:
        if lib.isOption o then
          value (path ++ [ n ]) o (defs ? ${n}) (defs.${n} or null)
        else
          resolve (path ++ [ n ]) o (defs.${n} or { })
      ) options;

  value =
    path: option: defined: def:
    let
      raw =
        if defined then
          strip def
        else if option ? default then
          option.default
        else
          throw "The option `${showPath path}' is used but not defined.";
      shown = builtins.toJSON raw;
    in
    if !option.type.check raw then
      throw "A definition for option `${showPath path}' is not of type `${option.type.description}'. Definition value: ${shown}"
    else if option.type.name == "submodule" then
      resolve path option.type.options raw
    else
      raw;

  # mkIf / mkMerge / mkOverride at the top of a value, resolved into its definitions.
  flat =
    v:
    let
      kind = if builtins.isAttrs v then v._type or null else null;
    in
    if kind == "if" then
      (if v.condition then flat v.content else [ ])
    else if kind == "merge" then
      builtins.concatMap flat v.contents
    else if kind == "override" then
      flat v.content
    else
      [ v ];
  isPlainSet = v: builtins.isAttrs v && !(v ? _type) && (v.type or null) != "derivation";

  merge =
    path: defs:
    if builtins.all isPlainSet defs then
      let
        names = builtins.attrNames (builtins.foldl' (acc: d: acc // d) { } defs);
        under = n: builtins.concatMap (d: if d ? ${n} then flat d.${n} else [ ]) defs;
      in
      builtins.listToAttrs (
        map (n: {
          name = n;
          value = merge (path ++ [ n ]) (under n);
        }) (builtins.filter (n: under n != [ ]) names)
      )
    else if builtins.all builtins.isList defs then
      builtins.concatLists defs
    else if builtins.all (d: d == builtins.head defs) defs then
      builtins.head defs
    else
      throw "The option `${showPath path}' has conflicting definitions.";

  userCfg = (config.services or { }).ai-stack or { };
  cfg = resolve [ "services" "ai-stack" ] declared.options.services.ai-stack userCfg;
  fullConfig =
    nixosConfig
    // config
    // {
      services = nixosConfig.services // (config.services or { }) // { ai-stack = cfg; };
    };
  declared = import module {
    inherit lib pkgs;
    config = fullConfig;
  };
  result = flat declared.config;
in
{
  inherit cfg;
  config = if result == [ ] then { } else merge [ ] result;
}
