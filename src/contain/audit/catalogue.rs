//! The audit's catalogue: one entry per check id (id, severity, title,
//! fix), and the OpenClaw checks `ir` cannot decide offline, with why.
//! The area modules decide which checks fire; this file says what each
//! one is. OpenClaw's ids and severities are those of 2026.9.6.

use crate::record::Severity;

/// How severe a check is.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    Always(Severity),
    /// Critical when the gateway binds beyond loopback, warn on loopback.
    ByBind,
    /// Critical when the gateway is remotely exposed (beyond loopback, or
    /// Tailscale serve/funnel), warn otherwise.
    ByRemote,
    /// Critical or warn by a condition of its own, decided where it fires.
    Varies,
}

/// One check: all it says except the detail, which names what was found.
/// A `*` in the id stands for a channel or provider name.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    pub title: &'static str,
    pub fix: &'static str,
    /// Whether `--fix` repairs it.
    pub fixable: bool,
}

const fn check(
    id: &'static str,
    level: Level,
    title: &'static str,
    fix: &'static str,
    fixable: bool,
) -> Check {
    Check {
        id,
        level,
        title,
        fix,
        fixable,
    }
}

const CRITICAL: Level = Level::Always(Severity::Critical);
const WARN: Level = Level::Always(Severity::Warn);
const INFO: Level = Level::Always(Severity::Info);
const BY_BIND: Level = Level::ByBind;
const BY_REMOTE: Level = Level::ByRemote;
const VARIES: Level = Level::Varies;

/// Every check, one entry per id: OpenClaw's where it tests the same
/// condition, then the `ir.*` checks.
#[rustfmt::skip]
pub const CHECKS: &[Check] = &[
    // Filesystem: the state dir, the config and its includes, credentials,
    // auth stores, sessions, the log file, synced folders.
    check("fs.state_dir.symlink", WARN, "State dir is a symlink", "make sure you trust its target", false),
    check("fs.state_dir.perms_world_writable", CRITICAL, "State dir is world-writable", "chmod 700 the state dir", true),
    check("fs.state_dir.perms_group_writable", WARN, "State dir is group-writable", "chmod 700 the state dir", true),
    check("fs.state_dir.perms_readable", WARN, "State dir is readable by others", "chmod 700 the state dir", true),
    check("fs.config.symlink", WARN, "Config file is a symlink", "replace it with a regular file, or point OPENCLAW_CONFIG_PATH at the real file", false),
    check("fs.config.perms_writable", CRITICAL, "Config file is writable by others", "chmod 600 the config", true),
    check("fs.config.perms_world_readable", CRITICAL, "Config file is world-readable", "chmod 600 the config", true),
    check("fs.config.perms_group_readable", WARN, "Config file is group-readable", "chmod 600 the config", true),
    check("fs.config_include.perms_writable", CRITICAL, "Config include file is writable by others", "chmod 600 the include file", true),
    check("fs.config_include.perms_world_readable", CRITICAL, "Config include file is world-readable", "chmod 600 the include file", true),
    check("fs.config_include.perms_group_readable", WARN, "Config include file is group-readable", "chmod 600 the include file", true),
    check("fs.credentials_dir.perms_writable", CRITICAL, "Credentials dir is writable by others", "chmod 700 credentials/", true),
    check("fs.credentials_dir.perms_readable", WARN, "Credentials dir is readable by others", "chmod 700 credentials/", true),
    check("fs.auth_profiles.perms_writable", CRITICAL, "Auth profile store is writable by others", "chmod 600 the auth store", true),
    check("fs.auth_profiles.perms_readable", WARN, "Auth profile store is readable by others", "chmod 600 the auth store", true),
    check("fs.sessions_store.perms_readable", WARN, "Session store is readable by others", "chmod 600 sessions/sessions.json", true),
    check("fs.log_file.perms_readable", WARN, "Log file is readable by others", "chmod 600 the file logging.file names", false),
    check("fs.synced_dir", WARN, "State/config path looks like a synced folder", "keep the state dir on a local-only volume", false),
    check("ir.fs.secret_file_perms", WARN, "A file holding secrets or transcripts is readable by others", "chmod 600", true),
    // Gateway exposure and auth.
    check("gateway.bind_no_auth", CRITICAL, "Gateway binds beyond loopback without auth", "set gateway.auth (token recommended) or bind to loopback", false),
    check("gateway.loopback_no_auth", CRITICAL, "Gateway auth missing on loopback", "set gateway.auth (token recommended)", false),
    check("gateway.trusted_proxies_missing", WARN, "Reverse proxy headers are not trusted", "set gateway.trustedProxies to your proxy IPs or keep the Control UI local-only", false),
    check("gateway.http.no_auth", BY_REMOTE, "Gateway HTTP APIs are reachable without auth", "set gateway.auth.mode to token or password", false),
    check("gateway.http.session_key_override_enabled", INFO, "HTTP API callers can override sessionKey", "set gateway.http.allowSessionKeyOverride to false", false),
    check("gateway.tools_invoke_http.dangerous_allow", VARIES, "Gateway HTTP /tools/invoke re-enables dangerous tools", "remove these entries from gateway.tools.allow", false),
    check("gateway.control_ui.allowed_origins_required", CRITICAL, "Non-loopback Control UI missing explicit allowed origins", "set gateway.controlUi.allowedOrigins, or bind to loopback", false),
    check("gateway.control_ui.allowed_origins_wildcard", BY_BIND, "Control UI allowed origins contains wildcard", "list explicit trusted origins", false),
    check("gateway.control_ui.host_header_origin_fallback", BY_BIND, "DANGEROUS: Host-header origin fallback enabled", "disable gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback and list allowedOrigins", false),
    check("gateway.real_ip_fallback_enabled", VARIES, "X-Real-IP fallback is enabled", "set gateway.allowRealIpFallback to false", false),
    check("gateway.tailscale_funnel", CRITICAL, "Tailscale Funnel exposure enabled", "set tailscale.mode to serve or off", false),
    check("gateway.tailscale_serve", INFO, "Tailscale Serve exposure enabled", "", false),
    check("discovery.mdns_full_mode", BY_BIND, "mDNS full mode can leak host metadata", "set discovery.mdns.mode to minimal or off", false),
    check("mcp.apps.enabled", WARN, "MCP Apps UI bridge enabled", "set mcp.apps.enabled to false unless every MCP server is trusted", false),
    check("config.insecure_or_dangerous_flags", WARN, "Insecure or dangerous config flag enabled", "disable the flag", false),
    check("gateway.env_token_overrides_config", WARN, "OPENCLAW_GATEWAY_TOKEN conflicts with gateway.auth.token", "remove OPENCLAW_GATEWAY_TOKEN from the environment and .env, or point gateway.auth.token at ${OPENCLAW_GATEWAY_TOKEN}", false),
    check("gateway.nodes.allow_commands_dangerous", BY_REMOTE, "Dangerous node commands explicitly enabled", "remove them from gateway.nodes.commands.allow", false),
    check("gateway.nodes.deny_commands_ineffective", WARN, "Some gateway.nodes.commands.deny entries are ineffective", "use exact node command names (e.g. system.run); deny matching is exact, not patterns or shell text", false),
    check("config.agent_roster.invalid_default_count", WARN, "Agent roster has an invalid default selection", "openclaw doctor --fix", false),
    check("gateway.auth_no_rate_limit", WARN, "No auth rate limiting configured", "set gateway.auth.rateLimit", false),
    check("gateway.trusted_proxy_auth", CRITICAL, "Trusted-proxy auth mode enabled", "make sure the proxy authenticates users and the gateway port is firewalled", false),
    check("gateway.trusted_proxy_no_proxies", CRITICAL, "Trusted-proxy auth enabled but no trusted proxies configured", "set gateway.trustedProxies", false),
    check("gateway.trusted_proxy_no_user_header", CRITICAL, "Trusted-proxy auth missing userHeader config", "set gateway.auth.trustedProxy.userHeader", false),
    check("gateway.trusted_proxy_allow_loopback", WARN, "Trusted-proxy auth allows loopback proxy sources", "set gateway.auth.trustedProxy.allowLoopback to false", false),
    check("gateway.trusted_proxy_device_auto_approve", WARN, "Trusted-proxy operator device auto-approval enabled", "disable gateway.auth.trustedProxy.deviceAutoApprove", false),
    check("gateway.trusted_proxy_device_auto_approve_admin", CRITICAL, "Trusted-proxy device auto-approval allows full admin", "remove operator.admin from deviceAutoApprove.scopes", false),
    check("gateway.trusted_proxy_no_allowlist", WARN, "Trusted-proxy auth allows all authenticated users", "set gateway.auth.trustedProxy.allowUsers", false),
    check("ir.gateway.bind_not_loopback", WARN, "Gateway not bound to loopback", "bind to loopback and reach it over Tailscale or a VPN", false),
    check("ir.discovery.mdns_on", INFO, "mDNS discovery is on", "set discovery.mdns.mode to off", false),
    // Gateway secrets.
    check("gateway.token_placeholder_value", CRITICAL, "Gateway token is a blank or undefined/null placeholder", "ir rotate", false),
    check("gateway.password_placeholder_value", CRITICAL, "Gateway password is a blank or undefined/null placeholder", "ir rotate", false),
    check("gateway.token_too_short", WARN, "Gateway token looks short", "ir rotate", false),
    check("gateway.password_too_short", WARN, "Gateway password looks short", "ir rotate", false),
    check("config.secrets.gateway_password_in_config", WARN, "Gateway password is stored in config", "use OPENCLAW_GATEWAY_PASSWORD and remove gateway.auth.password from disk", false),
    check("config.secrets.hooks_token_in_config", INFO, "Hooks token is stored in config", "keep config perms tight", false),
    check("ir.gateway.token_known_weak", CRITICAL, "Gateway secret is a published example placeholder", "ir rotate (OpenClaw's gateway refuses to start with it)", false),
    check("ir.gateway.token_under_32", WARN, "Gateway token shorter than 32 characters", "ir rotate", false),
    check("ir.gateway.token_in_config", WARN, "Gateway token written into the config", "move it to OPENCLAW_GATEWAY_TOKEN or a file SecretRef", false),
    // Hooks.
    check("hooks.token_too_short", WARN, "Hooks token looks short", "ir rotate", false),
    check("hooks.token_reuse_gateway_token", CRITICAL, "Hooks token reuses the gateway secret", "ir rotate (it gives hooks its own token)", false),
    check("hooks.path_root", CRITICAL, "Hooks base path is '/'", "use a dedicated path like /hooks", false),
    check("hooks.default_session_key_unset", WARN, "hooks.defaultSessionKey is not configured", "set hooks.defaultSessionKey (e.g. hook:ingress)", false),
    check("hooks.allowed_agent_ids_unrestricted", BY_REMOTE, "Hook agent routing allows any configured agent", "set hooks.allowedAgentIds to an explicit list", false),
    check("hooks.request_session_key_enabled", BY_REMOTE, "External hook payloads may override sessionKey", "set hooks.allowRequestSessionKey to false", false),
    check("hooks.request_session_key_prefixes_missing", BY_REMOTE, "Request sessionKey override is enabled without prefix restrictions", "set hooks.allowedSessionKeyPrefixes", false),
    // Channels and sessions.
    check("ir.channels.*.dm_open", CRITICAL, "Open DM policy", "set dmPolicy to pairing or allowlist", false),
    check("ir.channels.*.dm_open_invalid", WARN, "DM config looks inconsistent", "dmPolicy open requires allowFrom to include \"*\"", false),
    check("ir.channels.*.group_open", WARN, "Open group policy", "ir audit --fix flips it to allowlist", true),
    check("security.exposure.open_groups_with_elevated", CRITICAL, "Open group/DM policy with elevated tools enabled", "set each group/DM policy to allowlist", false),
    check("security.exposure.open_groups_with_runtime_or_fs", VARIES, "Open group/DM policy with runtime/filesystem tools exposed", "use tools.profile messaging, sandbox all, tools.fs.workspaceOnly", false),
    check("security.exposure.open_groups_with_control_plane_tools", CRITICAL, "Open group/DM policy with control-plane tools exposed", "deny automations, gateway, plugins for open conversations", false),
    check("security.exposure.open_channels_with_exec", VARIES, "Open channels can reach exec-enabled agents", "tighten dmPolicy/groupPolicy or disable exec", false),
    check("security.trust_model.multi_user_heuristic", WARN, "Potential multi-user setup detected", "split trust boundaries, or sandbox all and deny runtime/fs tools", false),
    check("security.trust_model.group_scope_main", WARN, "Group rooms share the main session", "set session.groupScope to per-group", false),
    check("security.trust_model.cross_agent_session_access_default", VARIES, "Agents share Gateway-wide session access (default)", "set tools.sessions.visibility to agent, tree or self, restrict tools.agentToAgent.allow, or disable tools.agentToAgent", false),
    check("ir.session.dm_scope_shared", WARN, "Several users share one DM session scope", "set session.dmScope to per-channel-peer", false),
    // Tools, sandbox, models.
    check("tools.elevated.allowFrom.*.wildcard", CRITICAL, "Elevated exec allowlist contains wildcard", "list explicit senders in tools.elevated.allowFrom", false),
    check("tools.elevated.allowFrom.*.large", WARN, "Elevated exec allowlist is large", "tighten tools.elevated.allowFrom", false),
    check("tools.exec.host_sandbox_no_sandbox_defaults", WARN, "Exec host is sandbox but sandbox mode is off", "enable sandbox mode or set tools.exec.host to gateway", false),
    check("tools.exec.host_sandbox_no_sandbox_agents", WARN, "Agent exec host uses sandbox while sandbox mode is off", "enable sandbox mode for these agents", false),
    check("tools.exec.security_full_configured", VARIES, "Exec security=full is configured", "prefer tools.exec.mode ask or allowlist", false),
    check("tools.exec.fs_tools_disabled_but_exec_enabled", WARN, "Filesystem tool policy does not make exec read-only", "deny exec and process too, or sandbox all with workspaceAccess ro or none", false),
    check("tools.exec.safe_bin_trusted_dirs_risky", WARN, "safeBinTrustedDirs includes risky mutable directories", "trust only root-owned dirs (/bin, /usr/bin)", false),
    check("tools.exec.safe_bins_interpreter_unprofiled", WARN, "safeBins includes interpreter/runtime binaries without explicit profiles", "remove interpreters from safeBins (use allowlist entries) or define tools.exec.safeBinProfiles.<bin>", false),
    check("tools.exec.safe_bins_broad_behavior", WARN, "safeBins includes binaries with broader semantics than low-risk stream filters", "remove jq/awk/sed from safeBins; use allowlist entries or approval-gated runs", false),
    check("tools.exec.auto_allow_skills_enabled", WARN, "autoAllowSkills is enabled for exec approvals", "disable autoAllowSkills in the exec approvals (openclaw approvals)", false),
    check("tools.exec.allowlist_interpreter_without_strict_inline_eval", WARN, "Interpreter allowlist entries are missing strictInlineEval hardening", "set tools.exec.strictInlineEval to true (or per agent) when allowlisting interpreters", false),
    check("tools.exec.agent_skill_mcp_boundary_drift", WARN, "Agent skill allowlists do not constrain host exec MCP clients", "set exec security to deny or a tight allowlist for agents that need MCP isolation, or sandbox them where the MCP registry is not readable", false),
    check("tools.exec.mcporter_registry_inspection_incomplete", WARN, "Global mcporter registry could not be inspected", "repair or remove skills/config/mcporter.json (a regular readable file, valid JSON, under 16 MiB)", false),
    check("ir.exec.approvals_unreadable", INFO, "Exec approvals could not be read", "inspect state/openclaw.sqlite (table exec_approvals_config) by hand", false),
    check("tools.profile_minimal_overridden", WARN, "Global tools.profile=minimal is overridden by agent profiles", "set those agents to minimal", false),
    check("sandbox.docker_config_mode_off", WARN, "Sandbox docker settings configured while sandbox mode is off", "enable sandbox mode or remove the docker settings", false),
    check("sandbox.dangerous_bind_mount", CRITICAL, "Dangerous bind mount in sandbox config", "remove the bind", false),
    check("sandbox.bind_mount_non_absolute", WARN, "Sandbox bind mount uses a non-absolute source path", "use an absolute host path", false),
    check("sandbox.dangerous_network_mode", CRITICAL, "Dangerous network mode in sandbox config", "use bridge, none or a custom bridge network", false),
    check("sandbox.dangerous_seccomp_profile", CRITICAL, "Seccomp unconfined in sandbox config", "remove seccompProfile or use a custom profile", false),
    check("sandbox.dangerous_apparmor_profile", CRITICAL, "AppArmor unconfined in sandbox config", "remove apparmorProfile or use a named profile", false),
    check("models.legacy", WARN, "Some configured models look legacy", "prefer modern, instruction-hardened models", false),
    check("models.weak_tier", WARN, "Some configured models are below recommended tiers", "prefer GPT-5+ and Claude 4.5+", false),
    check("models.small_params", VARIES, "Small models require sandboxing and web tools disabled", "deny group:web and browser for small models (tools.byProvider[\"provider/model\"].deny) and sandbox all", false),
    check("skills.workspace.symlink_escape", WARN, "Workspace skill files resolve outside the workspace root", "replace symlinked skills with real files inside the workspace", false),
    check("skills.workspace.scan_truncated", WARN, "Workspace skill scan reached the directory visit limit", "flatten the skills/ tree or move large skill collections to a managed skill location", false),
    check("plugins.extensions_no_allowlist", VARIES, "Extensions exist but plugins.allow is not set", "set plugins.allow to the plugin ids you trust", false),
    check("plugins.allow_phantom_entries", WARN, "plugins.allow contains entries with no matching installed plugin", "remove unused entries from plugins.allow, or install the plugins they name", false),
    check("ir.plugins.allow_not_checked", INFO, "plugins.allow was not checked for phantom entries", "find the host's openclaw package (npm root -g) and check plugins.allow against its dist/extensions by hand", false),
    check("plugins.tools_reachable_permissive_policy", WARN, "Extension plugin tools may be reachable under permissive tool policy", "use a restrictive tools.profile (minimal/coding) or an explicit tools.allow without plugin tools for agents handling untrusted input", false),
    check("plugins.installs_unpinned_npm_specs", WARN, "Plugin index includes unpinned npm specs", "pin install specs to exact versions (@scope/pkg@1.2.3)", false),
    check("plugins.installs_missing_integrity", WARN, "Plugin index is missing integrity metadata", "reinstall or update the plugins to record integrity hashes", false),
    check("plugins.installs_version_drift", WARN, "Plugin index records drift from installed package versions", "openclaw plugins update --all, or reinstall the plugins named", false),
    // Code safety (`ir audit --deep` only): OpenClaw's static scanner over plugin and skill code.
    check("plugins.code_safety", VARIES, "Plugin contains dangerous or suspicious code patterns", "review the plugin source; if untrusted, remove it from $STATE/extensions", false),
    check("plugins.code_safety.manifest_parse_error", WARN, "Plugin has a malformed package.json", "inspect the plugin package.json; if untrusted, remove the plugin", false),
    check("plugins.code_safety.entry_path", WARN, "Plugin entry path is hidden or node_modules", "prefer extension entrypoints under dist/ or src/", false),
    check("plugins.code_safety.entry_escape", CRITICAL, "Plugin has extension entry path traversal", "keep every openclaw.extensions entry inside the plugin dir", false),
    check("skills.code_safety", VARIES, "Skill contains dangerous or suspicious code patterns", "review the skill source; if untrusted, remove its dir", false),
    check("ir.skills.code_safety_shadowed", WARN, "A skill OpenClaw does not load (shadowed by a same-named one) contains dangerous or suspicious code", "remove the shadowed skill dir: it loads the day the winning skill is removed", false),
    check("ir.skills.code_safety_not_loaded", WARN, "A skill OpenClaw does not load (no description) contains dangerous or suspicious code", "remove the skill dir: it loads the day its SKILL.md gets a description", false),
    check("ir.code_safety.scan_capped", WARN, "Deep code scan stopped at ir's read budget", "scan the remaining plugins and skills by hand", false),
    check("hooks.installs_unpinned_npm_specs", WARN, "Hook installs include unpinned npm specs", "pin hook install specs to exact versions (@scope/pkg@1.2.3)", false),
    check("hooks.installs_missing_integrity", WARN, "Hook installs are missing integrity metadata", "reinstall or update the hooks to record integrity hashes", false),
    check("hooks.installs_version_drift", WARN, "Hook install records drift from installed package versions", "openclaw hooks update --all, or reinstall the hooks named", false),
    check("ir.installs.ledger_unreadable", INFO, "A plugin or hook install ledger could not be read", "inspect state/openclaw.sqlite (table config_machine_state) by hand", false),
    check("ir.sandbox.off", WARN, "No sandbox", "set agents.defaults.sandbox.mode to non-main or all", false),
    check("ir.tools.public_agent_without_deny", WARN, "Public agent without a tool deny list", "deny exec, write, browser for public agents", false),
    check("ir.version.cve_2026_25253", CRITICAL, "Vulnerable OpenClaw version", "update openclaw, then rotate the gateway token", false),
    // Config keys the installed version rejects (OpenClaw refuses to run).
    check("ir.gateway.control_ui_insecure_auth", CRITICAL, "Control UI allows insecure auth", "set gateway.controlUi.allowInsecureAuth to false", false),
    check("ir.logging.redaction_off", WARN, "Log redaction is off", "set logging.redactSensitive to tools or full", false),
    check("ir.config.key_rejected", INFO, "Config key not in this version's schema", "remove the key (openclaw config validate)", false),
    // The host (under --root).
    check("ir.host.ssh_root_login", WARN, "SSH allows root login", "set PermitRootLogin no in /etc/ssh/sshd_config, then systemctl reload ssh", false),
    check("ir.host.ssh_password_auth", WARN, "SSH allows password authentication", "set PasswordAuthentication no (keys only), then systemctl reload ssh", false),
    check("ir.host.ssh_max_auth_tries", WARN, "SSH MaxAuthTries is above 3", "set MaxAuthTries 3, then systemctl reload ssh", false),
    check("ir.host.ssh_no_allow_users", INFO, "SSH does not restrict users", "set AllowUsers to the admin accounts, then systemctl reload ssh", false),
    check("ir.host.firewall_disabled", WARN, "UFW is installed but not enabled", "ufw default deny incoming && ufw allow OpenSSH && ufw enable", false),
    check("ir.host.firewall_default_allow", WARN, "Firewall does not deny incoming by default", "ufw default deny incoming (or policy drop on the nftables input chain)", false),
    check("ir.host.firewall_none", WARN, "No firewall configuration found", "apt install ufw && ufw default deny incoming && ufw allow OpenSSH && ufw enable", false),
    check("ir.host.vpn_missing", WARN, "The gateway relies on a VPN that is not installed and configured", "install tailscale and run tailscale up (or configure WireGuard), and keep gateway.bind on loopback or tailnet", false),
    check("ir.host.secret_store_perms", WARN, "A secret store is readable by others", "chmod 600 (700 for dirs)", false),
];

/// An OpenClaw check `ir audit` does not decide, and why.
#[derive(Debug, serde::Serialize)]
pub struct NotChecked {
    pub id: &'static str,
    pub reason: &'static str,
}

const fn nc(id: &'static str, reason: &'static str) -> NotChecked {
    NotChecked { id, reason }
}

const LIVE: &str = "needs a live gateway (openclaw security audit --deep)";
const DOCKER: &str = "needs the Docker daemon";
const PLUGIN: &str = "runs the channel or plugin's own JavaScript";
/// The browser plugin's collector: run only under `--deep`, and even then
/// not by 2026.9.6's CLI, whose metadata-only plugin load carries no
/// collectors.
const BROWSER: &str = "OpenClaw 2026.9.6 raises it only through the browser plugin's security collector under --deep, which its CLI audit's metadata-only plugin load does not carry: not raised even with --deep, plugins.entries.browser enabled and a remote http CDP profile on a private host (checked), so not ported";
/// Why the channel adapter checks carry `ir.*` ids.
const ADAPTER: &str = "OpenClaw 2026.9.6 raises it only through a channel plugin's security adapter, which the read-only channel plugins its CLI audit loads do not carry (checked for Telegram), so its audit does not report it; ir reports open DM and group policies as ir.channels.<id>.*";

/// OpenClaw's critical and warn checks that need a live gateway, a network
/// or Docker probe, or code `ir` will not run; `ir audit` lists them as
/// not checked.
#[rustfmt::skip]
pub const NOT_CHECKED: &[NotChecked] = &[
    nc("gateway.probe_failed", LIVE),
    nc("gateway.probe_auth_secretref_unavailable", LIVE),
    nc("sandbox.browser_container.hash_label_missing", DOCKER),
    nc("sandbox.browser_container.hash_epoch_stale", DOCKER),
    nc("sandbox.browser_container.non_loopback_publish", DOCKER),
    nc("sandbox.browser_container.docker_probe_timeout", DOCKER),
    nc("plugins.*.security_audit_failed", PLUGIN),
    nc("channels.*.warning.*", PLUGIN),
    nc("channels.*.account.read_only_resolution", "resolves channel account secrets through the plugin"),
    nc("channels.*.dm.open", ADAPTER),
    nc("channels.*.dm.open_invalid", ADAPTER),
    nc("channels.*.groups.open", ADAPTER),
    nc("channels.*.allowFrom.mutable_entries_inert", ADAPTER),
    nc("channels.*.routing.owner_missing.*", ADAPTER),
    nc("channels.*.dm.wildcard_routing_unverified.*", ADAPTER),
    nc("channels.dm.session_collision.*", ADAPTER),
    nc("channels.telegram.allowFrom.invalid_entries", ADAPTER),
    nc("channels.telegram.groups.allowFrom.missing", ADAPTER),
    nc("channels.telegram.groups.allowFrom.wildcard", ADAPTER),
    nc("plugins.code_safety.scan_failed", "a failure of OpenClaw's own scanner"),
    nc("skills.code_safety.scan_failed", "a failure of OpenClaw's own scanner"),
    nc("browser.control_invalid_config", BROWSER),
    nc("browser.control_no_auth", BROWSER),
    nc("browser.extension_relay_legacy_auth", BROWSER),
    nc("browser.remote_cdp_http", BROWSER),
    nc("browser.remote_cdp_private_host", BROWSER),
];

/// Checks `ir` runs only under `ir audit --deep`, as OpenClaw runs them
/// only under `openclaw security audit --deep`: without it they are listed
/// as not checked.
#[rustfmt::skip]
pub const DEEP_ONLY: &[NotChecked] = &[
    nc("plugins.code_safety", RUN_DEEP),
    nc("plugins.code_safety.manifest_parse_error", RUN_DEEP),
    nc("plugins.code_safety.entry_path", RUN_DEEP),
    nc("plugins.code_safety.entry_escape", RUN_DEEP),
    nc("skills.code_safety", RUN_DEEP),
    nc("ir.skills.code_safety_shadowed", RUN_DEEP),
    nc("ir.skills.code_safety_not_loaded", RUN_DEEP),
    nc("ir.code_safety.scan_capped", RUN_DEEP),
];
const RUN_DEEP: &str = "not checked (run with ir audit --deep)";
