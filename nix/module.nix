# services.ai-stack: the stack's Python services as hardened systemd units, with PostgreSQL,
# Redis and Qdrant from nixpkgs' own modules and the nginx gateway rendered by `ai-stack gateway
# render`. The services come from ./services.json (`ai-stack services --json`, checked against
# the registry by tests/unit/deploy/test_nix.py): a new registry entry gets its unit, port option
# and peer URLs without an edit here. Options and defaults: docs/NIXOS.md.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkOption
    mkEnableOption
    mkIf
    mkMerge
    mkDefault
    types
    ;
  cfg = config.services.ai-stack;
  registry = builtins.fromJSON (builtins.readFile ./services.json);
  byName = lib.listToAttrs (map (s: lib.nameValuePair s.name s) registry);
  unitName = name: "ai-stack-${name}";
  url = name: "http://127.0.0.1:${toString cfg.ports.${name}}";

  # torch (the embeddings model, aidb's optional reranker) maps memory writable and executable
  # for its generated kernels (oneDNN's JIT): MemoryDenyWriteExecute would kill it on first encode.
  torchServices = [ "embeddings" "aidb" ];
  redisSocket = "/run/redis-ai-stack/redis.sock";
  redisGroup = "redis-ai-stack";
  gatewayRuntime = "/run/ai-stack-gateway";
  gatewayLogs = "/var/log/ai-stack-gateway";
  lowPorts = builtins.any (p: p < 1024) [ cfg.httpsPort cfg.httpPort ];

  backingUnits =
    lib.optional cfg.postgresql.enable "ai-stack-postgres-password.service"
    ++ lib.optional cfg.redis.enable "redis-ai-stack.service"
    ++ lib.optional cfg.qdrant.enable "qdrant.service";

  hardening = {
    DynamicUser = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    NoNewPrivileges = true;
    CapabilityBoundingSet = "";
    RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
    SystemCallFilter = [ "@system-service" ];
    SystemCallArchitectures = "native";
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    UMask = "0077";
    Restart = "on-failure";
    RestartSec = 5;
  };

  # Secrets reach a unit only through LoadCredential: systemd copies them, readable by the unit's
  # dynamic user alone, to $CREDENTIALS_DIRECTORY (`%d`), and the `*_FILE` variables point there.
  secretsOf =
    name:
    lib.optional (cfg.gatewaySecretFile != null) {
      id = "gateway-secret";
      file = toString cfg.gatewaySecretFile;
      variable = "AI_STACK_GATEWAY_SECRET_FILE";
    }
    ++ lib.optional (name == "auth") {
      id = "api-keys";
      file = toString cfg.apiKeysFile;
      variable = "AI_STACK_AUTH_KEYS_FILE";
    }
    ++ lib.optional (name == "aidb" && cfg.postgresql.enable) {
      id = "postgres-password";
      file = toString cfg.postgresql.passwordFile;
      variable = "AI_STACK_AIDB_POSTGRES_PASSWORD_FILE";
    };

  serviceEnvironment =
    s:
    {
      HOME = "${cfg.dataDir}/${s.name}";
      AI_STACK_HOME = "${cfg.dataDir}/${s.name}";
      HF_HUB_OFFLINE = "1";
      TRANSFORMERS_OFFLINE = "1";
      "${s.env_prefix}HOST" = cfg.listenAddress;
      "${s.env_prefix}PORT" = toString cfg.ports.${s.name};
    }
    // lib.mapAttrs (_variable: peer: url peer) s.peer_urls
    // lib.optionalAttrs cfg.redis.enable { "${s.env_prefix}REDIS_URL" = "unix://${redisSocket}?db=0"; }
    // lib.optionalAttrs (s.name == "aidb" && cfg.postgresql.enable) {
      AI_STACK_AIDB_POSTGRES_HOST = "127.0.0.1";
      AI_STACK_AIDB_POSTGRES_PORT = toString cfg.postgresql.port;
      AI_STACK_AIDB_POSTGRES_USER = "ai_stack";
      AI_STACK_AIDB_POSTGRES_DB = "ai_stack";
    }
    // lib.optionalAttrs (s.name == "aidb" && cfg.qdrant.enable) {
      AI_STACK_AIDB_QDRANT_URL = "http://127.0.0.1:${toString cfg.qdrant.port}";
    }
    // lib.listToAttrs (map (c: lib.nameValuePair c.variable "%d/${c.id}") (secretsOf s.name))
    # The registry marks the services jemalloc pays for (embeddings: memory; aidb: query time).
    // lib.optionalAttrs ((s.allocator or "system") == "jemalloc") {
      LD_PRELOAD = "${pkgs.jemalloc}/lib/libjemalloc.so";
    }
    // cfg.environment;

  serviceUnit =
    s:
    let
      peers = map (peer: "${unitName peer}.service") (builtins.attrValues s.peer_urls);
    in
    {
      description = "ai-stack ${s.name}";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ] ++ backingUnits ++ peers;
      wants = backingUnits ++ peers;
      environment = serviceEnvironment s;
      serviceConfig = hardening // {
        ExecStart = "${cfg.package}/bin/python -m ${s.module}";
        StateDirectory = "${lib.removePrefix "/var/lib/" cfg.dataDir}/${s.name}";
        StateDirectoryMode = "0700";
        WorkingDirectory = "${cfg.dataDir}/${s.name}";
        LoadCredential = map (c: "${c.id}:${c.file}") (secretsOf s.name);
        MemoryDenyWriteExecute = !(builtins.elem s.name torchServices);
        SupplementaryGroups = lib.optional cfg.redis.enable redisGroup;
      };
    };

  serviceUnits = lib.listToAttrs (map (s: lib.nameValuePair (unitName s.name) (serviceUnit s)) registry);

  # The gateway: `ai-stack gateway render` writes nginx.conf at start from the same settings the
  # services read (so the upstream ports, body limits and secret header cannot drift), into the
  # unit's runtime directory: the gateway secret it holds never enters the world-readable store.
  gatewayEnvironment =
    {
      AI_STACK_HOME = gatewayRuntime;
      AI_STACK_LOG_DIR = gatewayLogs;
      AI_STACK_GATEWAY_HTTPS_PORT = toString cfg.httpsPort;
      AI_STACK_GATEWAY_HTTP_PORT = toString cfg.httpPort;
    }
    // lib.optionalAttrs (cfg.gatewaySecretFile != null) { AI_STACK_GATEWAY_SECRET_FILE = "%d/gateway-secret"; }
    // lib.listToAttrs (
      map (s: lib.nameValuePair "${s.env_prefix}PORT" (toString cfg.ports.${s.name})) registry
    )
    // cfg.environment;

  gatewayListen = lib.concatMapStringsSep " " (a: "--listen ${lib.escapeShellArg a}") cfg.gatewayListenAddresses;

  gatewayPrepare = pkgs.writeShellScript "ai-stack-gateway-prepare" ''
    set -eu
    mkdir -p "$RUNTIME_DIRECTORY/tls" "$RUNTIME_DIRECTORY/run" "$CACHE_DIRECTORY/temp"
    ln -sfn "$CREDENTIALS_DIRECTORY/tls-cert" "$RUNTIME_DIRECTORY/tls/cert.pem"
    ln -sfn "$CREDENTIALS_DIRECTORY/tls-key" "$RUNTIME_DIRECTORY/tls/key.pem"
    ${cfg.package}/bin/ai-stack gateway render --out "$RUNTIME_DIRECTORY/nginx.conf" \
      --temp-dir "$CACHE_DIRECTORY/temp" ${gatewayListen} ${
        lib.optionalString cfg.observability.enable "--status-port ${toString cfg.observability.gatewayStatusPort}"
      }
    ${cfg.nginx.package}/bin/nginx -t -q -c "$RUNTIME_DIRECTORY/nginx.conf" -e ${gatewayLogs}/nginx-error.log
  '';

  gatewayUnit = {
    description = "ai-stack gateway (nginx)";
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" ] ++ map (s: "${unitName s.name}.service") registry;
    wants = map (s: "${unitName s.name}.service") registry;
    environment = gatewayEnvironment;
    serviceConfig = hardening // {
      ExecStartPre = "${gatewayPrepare}";
      ExecStart = "${cfg.nginx.package}/bin/nginx -c ${gatewayRuntime}/nginx.conf -e ${gatewayLogs}/nginx-error.log -g 'daemon off;'";
      ExecReload = "${cfg.nginx.package}/bin/nginx -c ${gatewayRuntime}/nginx.conf -e ${gatewayLogs}/nginx-error.log -s reload";
      RuntimeDirectory = "ai-stack-gateway";
      RuntimeDirectoryMode = "0700";
      CacheDirectory = "ai-stack-gateway";
      LogsDirectory = "ai-stack-gateway";
      LoadCredential = [
        "tls-cert:${toString cfg.tls.certificateFile}"
        "tls-key:${toString cfg.tls.keyFile}"
      ] ++ lib.optional (cfg.gatewaySecretFile != null) "gateway-secret:${toString cfg.gatewaySecretFile}";
      MemoryDenyWriteExecute = true;
      # Only for ports below 1024 (a public 443): nginx runs unprivileged and needs nothing else.
      CapabilityBoundingSet = if lowPorts then "CAP_NET_BIND_SERVICE" else "";
      AmbientCapabilities = lib.optional lowPorts "CAP_NET_BIND_SERVICE";
    };
  };

  # ensureUsers creates the role without a password; aidb connects over TCP with one, so it is
  # set from passwordFile (on stdin, never in argv) once PostgreSQL is up.
  postgresPasswordUnit = {
    description = "ai-stack: the ai_stack PostgreSQL role's password";
    after = [ "postgresql.service" ];
    requires = [ "postgresql.service" ];
    wantedBy = [ "multi-user.target" ];
    path = [ config.services.postgresql.package ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      User = "postgres";
      LoadCredential = [ "postgres-password:${toString cfg.postgresql.passwordFile}" ];
    };
    script = ''
      password="$(cat "$CREDENTIALS_DIRECTORY/postgres-password")"
      psql -p ${toString cfg.postgresql.port} -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL
      \set pw '$password'
      ALTER ROLE ai_stack WITH LOGIN PASSWORD :'pw';
      SQL
    '';
  };

  # The verifier reads its own copy of the key file (a credential): a change (`ai-stack keys
  # create` as root) restarts it.
  keysWatch = {
    paths.ai-stack-auth-keys = {
      wantedBy = [ "multi-user.target" ];
      pathConfig.PathChanged = toString cfg.apiKeysFile;
    };
    services.ai-stack-auth-keys = {
      description = "ai-stack: restart the key verifier after a key file change";
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${pkgs.systemd}/bin/systemctl try-restart ${unitName "auth"}.service";
      };
    };
  };

  portOptions = lib.listToAttrs (
    map (
      s:
      lib.nameValuePair s.name (mkOption {
        type = types.port;
        default = s.default_port;
        description = "TCP port of ${s.name} (${s.env_prefix}PORT).";
      })
    ) registry
  );

  secretPath =
    description:
    mkOption {
      type = types.nullOr types.path;
      default = null;
      inherit description;
    };
in
{
  options.services.ai-stack = {
    enable = mkEnableOption "the ai-stack services";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./nix/package.nix { }";
      description = "The ai-stack application (its bin/python runs the services).";
    };

    dataDir = mkOption {
      type = types.str;
      default = "/var/lib/ai-stack";
      description = "State of the services, one directory each (a StateDirectory: under /var/lib).";
    };

    apiKeysFile = mkOption {
      type = types.path;
      default = "/var/lib/ai-stack-keys/api-keys.json";
      description = "The key verifier's key file (hashes only), written by `ai-stack keys`.";
    };

    gatewaySecretFile = secretPath "File with the gateway secret nginx sends to every service (16-256 of [A-Za-z0-9_.~+/=-]).";

    ports = mkOption {
      type = types.submodule { options = portOptions; };
      default = { };
      description = "Port of each service, by registry name; unset ones keep the registry's default.";
    };

    httpsPort = mkOption {
      type = types.port;
      default = 8443;
      description = "Gateway HTTPS port.";
    };

    httpPort = mkOption {
      type = types.port;
      default = 8088;
      description = "Gateway HTTP port (redirects to HTTPS).";
    };

    listenAddress = mkOption {
      type = types.str;
      default = "127.0.0.1";
      description = "Address the Python services listen on (the gateway reaches them on 127.0.0.1).";
    };

    gatewayListenAddresses = mkOption {
      type = types.listOf types.str;
      default = [ "127.0.0.1" ];
      description = "Addresses the gateway listens on.";
    };

    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Extra environment of every service and the gateway (AI_STACK_* settings; no secrets: use *_FILE).";
    };

    postgresql = {
      enable = mkEnableOption "PostgreSQL (services.postgresql) with the ai_stack database and role";
      port = mkOption {
        type = types.port;
        default = 5432;
        description = "PostgreSQL port (set as services.postgresql.settings.port).";
      };
      passwordFile = secretPath "File with the ai_stack role's password (required with postgresql.enable).";
    };

    redis = {
      enable = mkEnableOption "Redis (services.redis.servers.ai-stack, on a Unix socket only)";
    };

    qdrant = {
      enable = mkEnableOption "a Qdrant server (services.qdrant) instead of aidb's embedded engine";
      port = mkOption {
        type = types.port;
        default = 6333;
        description = "Qdrant's HTTP port.";
      };
    };

    nginx = {
      enable = mkEnableOption "the TLS gateway (nginx in its own unit, configured by `ai-stack gateway render`)";
      package = mkOption {
        type = types.package;
        default = pkgs.nginx;
        defaultText = lib.literalExpression "pkgs.nginx";
        description = "nginx package of the gateway.";
      };
    };

    tls = {
      certificateFile = secretPath "Gateway certificate (PEM; required with nginx.enable).";
      keyFile = secretPath "Gateway private key (PEM; required with nginx.enable).";
    };

    observability = {
      enable = mkEnableOption "nixpkgs' node, nginx, PostgreSQL and Redis exporters and the gateway's stub_status";
      gatewayStatusPort = mkOption {
        type = types.port;
        default = 8087;
        description = "nginx's stub_status port (127.0.0.1).";
      };
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      assertions = [
        {
          assertion = lib.hasPrefix "/var/lib/" cfg.dataDir;
          message = "services.ai-stack.dataDir must be under /var/lib/ (it is each unit's StateDirectory).";
        }
        {
          assertion = !cfg.postgresql.enable || cfg.postgresql.passwordFile != null;
          message = "services.ai-stack.postgresql.passwordFile is required with postgresql.enable.";
        }
        {
          assertion = !cfg.nginx.enable || cfg.gatewaySecretFile != null;
          message = "services.ai-stack.gatewaySecretFile is required with nginx.enable: without it a local process could call the services around the gateway.";
        }
        {
          assertion = !cfg.nginx.enable || (cfg.tls.certificateFile != null && cfg.tls.keyFile != null);
          message = "services.ai-stack.tls.certificateFile and keyFile are required with nginx.enable.";
        }
      ];
      systemd = mkMerge [
        { services = serviceUnits; }
        keysWatch
        {
          # An empty key file on first boot: LoadCredential fails on a missing one.
          tmpfiles.rules = [
            "d ${builtins.dirOf (toString cfg.apiKeysFile)} 0700 root root -"
            ''f ${toString cfg.apiKeysFile} 0600 root root - {"keys": []}''
          ];
        }
      ];
    }
    (mkIf cfg.postgresql.enable {
      services.postgresql = {
        enable = true;
        settings.port = cfg.postgresql.port;
        ensureDatabases = [ "ai_stack" ];
        ensureUsers = [
          {
            name = "ai_stack";
            ensureDBOwnership = true;
          }
        ];
      };
      systemd.services.ai-stack-postgres-password = postgresPasswordUnit;
    })
    (mkIf cfg.redis.enable {
      # No TCP port: only members of its group (the services) reach the socket, so no password.
      services.redis.servers.ai-stack = {
        enable = true;
        port = 0;
        bind = null;
        unixSocket = redisSocket;
        unixSocketPerm = 660;
      };
    })
    (mkIf cfg.qdrant.enable {
      services.qdrant = {
        enable = true;
        settings.service = {
          host = mkDefault "127.0.0.1";
          http_port = cfg.qdrant.port;
        };
      };
    })
    (mkIf cfg.nginx.enable {
      systemd.services.ai-stack-gateway = gatewayUnit;
      # The rendered nginx.conf includes Debian's path; NixOS has no /etc/nginx of its own.
      environment.etc."nginx/mime.types".source = "${pkgs.mailcap}/etc/nginx/mime.types";
    })
    (mkIf cfg.observability.enable {
      services.prometheus.exporters = {
        node = {
          enable = true;
          listenAddress = "127.0.0.1";
          port = 9591;
          enabledCollectors = [ "filesystem" ];
        };
        nginx = mkIf cfg.nginx.enable {
          enable = true;
          listenAddress = "127.0.0.1";
          port = 9594;
          scrapeUri = "http://127.0.0.1:${toString cfg.observability.gatewayStatusPort}/stub_status";
        };
        postgres = mkIf cfg.postgresql.enable {
          enable = true;
          listenAddress = "127.0.0.1";
          port = 9592;
          runAsLocalSuperUser = true;
        };
        redis = mkIf cfg.redis.enable {
          enable = true;
          listenAddress = "127.0.0.1";
          port = 9593;
          extraFlags = [ "-redis.addr=unix://${redisSocket}" ];
        };
      };
      systemd.services.prometheus-redis-exporter = mkIf cfg.redis.enable {
        serviceConfig.SupplementaryGroups = [ redisGroup ];
      };
    })
  ]);
}
