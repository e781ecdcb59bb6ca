# A small stand-in for nixpkgs' `lib`, enough to evaluate nix/module.nix here without nixpkgs:
# options and types (each type with a `check`, as nixpkgs' own), the mkIf / mkMerge / mkOverride
# markers that ./eval.nix resolves, and the list, string and attrset helpers the module uses.
# Each function behaves like its nixpkgs namesake for the inputs the module gives it.
let
  mkType =
    name: description: check: extra:
    {
      _type = "option-type";
      inherit name description check;
    }
    // extra;
  isStringLike = v: builtins.isString v || builtins.isPath v || (builtins.isAttrs v && v ? outPath);
  filterAttrs =
    pred: set:
    builtins.listToAttrs (
      map (n: {
        name = n;
        value = set.${n};
      }) (builtins.filter (n: pred n set.${n}) (builtins.attrNames set))
    );
  types = rec {
    bool = mkType "bool" "boolean" builtins.isBool { };
    int = mkType "int" "signed integer" builtins.isInt { };
    port = mkType "port" "16 bit unsigned integer; between 0 and 65535 (both inclusive)" (
      v: builtins.isInt v && v >= 0 && v <= 65535
    ) { };
    str = mkType "str" "string" builtins.isString { };
    lines = mkType "lines" "strings concatenated with \"\\n\"" builtins.isString { };
    path = mkType "path" "path" (v: isStringLike v && builtins.substring 0 1 (toString v) == "/") { };
    package = mkType "package" "package" (v: builtins.isAttrs v && (v.type or null) == "derivation") { };
    attrsOf =
      t:
      mkType "attrsOf" "attribute set of ${t.description}" (
        v: builtins.isAttrs v && builtins.all t.check (builtins.attrValues v)
      ) { elemType = t; };
    listOf =
      t:
      mkType "listOf" "list of ${t.description}" (v: builtins.isList v && builtins.all t.check v) {
        elemType = t;
      };
    nullOr =
      t: mkType "nullOr" "null or ${t.description}" (v: v == null || t.check v) { elemType = t; };
    enum =
      values:
      mkType "enum" "one of ${builtins.concatStringsSep ", " (map builtins.toJSON values)}" (
        v: builtins.elem v values
      ) { };
    submodule =
      m:
      mkType "submodule" "submodule" builtins.isAttrs {
        options = (if builtins.isFunction m then m { } else m).options;
      };
  };
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  safeShellWord = s: builtins.match "[[:alnum:],._+:@%/-]+" s != null;
in
{
  inherit types mkOverride filterAttrs;
  mkOption = attrs: attrs // { _type = "option"; };
  mkEnableOption = name: {
    _type = "option";
    type = types.bool;
    default = false;
    description = "Whether to enable ${name}.";
  };
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  literalExpression = text: {
    _type = "literalExpression";
    inherit text;
  };
  isOption = v: builtins.isAttrs v && (v._type or null) == "option";

  nameValuePair = name: value: { inherit name value; };
  inherit (builtins)
    listToAttrs
    attrNames
    attrValues
    mapAttrs
    concatStringsSep
    elem
    filter
    any
    all
    ;
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalAttrs = cond: set: if cond then set else { };
  optionalString = cond: s: if cond then s else "";
  concatMapStringsSep = sep: f: list: builtins.concatStringsSep sep (map f list);
  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
  removePrefix =
    prefix: s:
    let
      n = builtins.stringLength prefix;
    in
    if builtins.substring 0 n s == prefix then builtins.substring n (builtins.stringLength s - n) s else s;
  escapeShellArg =
    s:
    if safeShellWord s then s else "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'";
  mapAttrsToList = f: set: map (n: f n set.${n}) (builtins.attrNames set);
}
