//! The cast and the script of the demo data: a small platform company's people, tokens,
//! services, projects and the things they do.

pub const USERS: &[(&str, &str)] = &[
    ("Ada Lovelace", "ada"), ("Grace Hopper", "grace"), ("Alan Turing", "alan"), ("Katherine Johnson", "katherine"),
    ("Linus Torvalds", "linus"), ("Margaret Hamilton", "margaret"), ("Dennis Ritchie", "dennis"), ("Barbara Liskov", "barbara"),
    ("Ken Thompson", "ken"), ("Frances Allen", "frances"), ("Edsger Dijkstra", "edsger"), ("Radia Perlman", "radia"),
    ("Donald Knuth", "donald"), ("Hedy Lamarr", "hedy"), ("John McCarthy", "john"), ("Shafi Goldwasser", "shafi"),
    ("Tim Berners-Lee", "tim"), ("Anita Borg", "anita"), ("Guido van Rossum", "guido"), ("Jean Sammet", "jean"),
    ("Bjarne Stroustrup", "bjarne"), ("Adele Goldberg", "adele"), ("Leslie Lamport", "leslie"), ("Sophie Wilson", "sophie"),
    ("Niklaus Wirth", "niklaus"), ("Mary Kenneth Keller", "mary"), ("Vint Cerf", "vint"), ("Karen Spärck Jones", "karen"),
    ("Yukihiro Matsumoto", "matz"), ("Evelyn Berezin", "evelyn"), ("Rob Pike", "rob"), ("Lynn Conway", "lynn"),
    ("Brian Kernighan", "brian"), ("Joan Clarke", "joan"), ("Whitfield Diffie", "whit"), ("Mae Jemison", "mae"),
    ("Anders Hejlsberg", "anders"), ("Carol Shaw", "carol"), ("José Valim", "jose"), ("Chieko Asakawa", "chieko"),
];

/// API tokens: (name, user agent). Their names stay readable after revocation.
pub const TOKENS: &[(&str, &str)] = &[
    ("ci-deployer", "github-actions/2.319 acme-cli/2.4.1"),
    ("terraform-prod", "terraform-provider-acme/1.8.0 (go1.23)"),
    ("terraform-staging", "terraform-provider-acme/1.8.0 (go1.23)"),
    ("backup-bot", "python-requests/2.32.3"),
    ("grafana-sync", "Grafana/11.3.0"),
    ("release-train", "acme-cli/2.4.1 (linux; amd64)"),
    ("pagerduty-hooks", "PagerDuty-Webhook/3.0"),
    ("data-exporter", "Go-http-client/2.0"),
];

pub const SYSTEM_ACTORS: &[&str] = &["scheduler", "autoscaler", "janitor", "certificate-renewer"];
pub const SERVICES: &[&str] = &["deploy-controller", "billing-service", "image-scanner", "log-router"];

pub const PROJECTS: &[(&str, &str)] = &[
    ("storefront", "Payments"), ("checkout", "Payments"), ("search", "Growth"), ("recommendations", "Growth"),
    ("data-platform", "Data"), ("internal-tools", "Platform"), ("mobile-api", "Platform"), ("marketing-site", "Growth"),
];

pub const CLUSTERS: &[&str] = &["prod-eu", "prod-us", "staging-eu", "dev"];

/// Applications per project (the project is the index into PROJECTS).
pub const APPLICATIONS: &[(usize, &str)] = &[
    (0, "web"), (0, "cart-worker"), (0, "cdn-purger"), (1, "payments-api"), (1, "fraud-check"), (1, "invoice-worker"),
    (2, "search-api"), (2, "indexer"), (3, "ranker"), (3, "feature-store"), (4, "ingest-gateway"), (4, "etl-runner"),
    (4, "warehouse-sync"), (5, "admin-portal"), (5, "feature-flags"), (6, "mobile-gateway"), (6, "push-notifier"),
    (7, "cms"), (7, "landing-pages"),
];

pub const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
];
pub const CLI_AGENTS: &[&str] = &["acme-cli/2.4.1 (darwin; arm64)", "acme-cli/2.4.0 (linux; amd64)", "acme-cli/2.3.9 (windows; amd64)"];

/// What kind of thing an action touches, which decides the path and the context labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Project,
    Application,
    Deployment,
    Cluster,
    Secret,
    Token,
    Member,
    Session,
    Datastore,
    Organization,
}

/// One kind of event: action, HTTP method, path pattern, target, how common it is, the
/// fields an update changes, and what goes wrong when it fails.
pub struct ActionSpec {
    pub action: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub target: Target,
    pub weight: u32,
    pub changes: &'static [&'static str],
    pub failures: &'static [(u16, &'static str)],
}

const DENIED: (u16, &str) = (403, "permission denied: your role does not allow this action");
const NOT_FOUND: (u16, &str) = (404, "not found");
const CONFLICT: (u16, &str) = (409, "conflict: the resource was modified by someone else; reload and retry");
const UPSTREAM: (u16, &str) = (502, "upstream error: the cluster API did not answer");
const TIMEOUT: (u16, &str) = (504, "timeout: the operation took longer than 30 s");

macro_rules! spec {
    ($action:expr, $method:expr, $path:expr, $target:ident, $weight:expr, [$($c:expr),*], [$($f:expr),*]) => {
        ActionSpec { action: $action, method: $method, path: $path, target: Target::$target, weight: $weight,
                     changes: &[$($c),*], failures: &[$($f),*] }
    };
}

pub const ACTIONS: &[ActionSpec] = &[
    spec!("project.viewed", "GET", "/api/projects/{id}", Project, 260, [], [NOT_FOUND]),
    spec!("project.created", "POST", "/api/projects", Project, 4, [], [DENIED, (422, "invalid name: must be lower-case letters, digits and dashes")]),
    spec!("project.updated", "PATCH", "/api/projects/{id}", Project, 14, ["name", "description", "visibility"], [DENIED, CONFLICT]),
    spec!("project.deleted", "DELETE", "/api/projects/{id}", Project, 1, [], [DENIED]),
    spec!("application.viewed", "GET", "/api/applications/{id}", Application, 420, [], [NOT_FOUND]),
    spec!("application.logs.viewed", "GET", "/api/applications/{id}/logs", Application, 180, [], [TIMEOUT]),
    spec!("application.created", "POST", "/api/projects/{project}/applications", Application, 5, [], [DENIED, (422, "quota exceeded: 10 applications per project")]),
    spec!("application.updated", "PATCH", "/api/applications/{id}", Application, 40, ["replicas", "image", "cpu", "memory", "env.LOG_LEVEL"], [DENIED, CONFLICT, UPSTREAM]),
    spec!("application.scaled", "PATCH", "/api/applications/{id}/scale", Application, 30, ["replicas"], [UPSTREAM, (422, "quota exceeded: 64 vCPU per cluster")]),
    spec!("application.restarted", "POST", "/api/applications/{id}/restart", Application, 22, [], [UPSTREAM, TIMEOUT]),
    spec!("application.deleted", "DELETE", "/api/applications/{id}", Application, 2, [], [DENIED]),
    spec!("deployment.viewed", "GET", "/api/deployments/{id}", Deployment, 120, [], [NOT_FOUND]),
    spec!("deployment.started", "POST", "/api/applications/{app}/deployments", Deployment, 70, [], [DENIED, (422, "image not found: registry.acme.io/{app}:{tag}")]),
    spec!("deployment.rolled_back", "POST", "/api/deployments/{id}/rollback", Deployment, 4, [], [UPSTREAM]),
    spec!("cluster.viewed", "GET", "/api/clusters/{id}", Cluster, 60, [], []),
    spec!("cluster.updated", "PATCH", "/api/clusters/{id}", Cluster, 3, ["node_count", "kubernetes_version"], [DENIED, UPSTREAM]),
    spec!("cluster.node_pool.scaled", "PATCH", "/api/clusters/{id}/node-pools/default", Cluster, 6, ["min_nodes", "max_nodes"], [UPSTREAM]),
    spec!("secret.viewed", "GET", "/api/projects/{project}/secrets/{id}", Secret, 40, [], [DENIED]),
    spec!("secret.created", "POST", "/api/projects/{project}/secrets", Secret, 6, [], [DENIED]),
    spec!("secret.updated", "PUT", "/api/projects/{project}/secrets/{id}", Secret, 9, ["value"], [DENIED]),
    spec!("secret.deleted", "DELETE", "/api/projects/{project}/secrets/{id}", Secret, 2, [], [DENIED]),
    spec!("api_token.created", "POST", "/api/tokens", Token, 2, [], [DENIED]),
    spec!("api_token.revoked", "DELETE", "/api/tokens/{id}", Token, 1, [], []),
    spec!("member.invited", "POST", "/api/members/invitations", Member, 3, [], [DENIED, (422, "invalid email address")]),
    spec!("member.invite.accepted", "POST", "/api/members/invitations/{id}/accept", Member, 2, [], [(410, "the invitation expired")]),
    spec!("member.role.updated", "PATCH", "/api/members/{id}", Member, 3, ["role"], [DENIED]),
    spec!("member.removed", "DELETE", "/api/members/{id}", Member, 1, [], [DENIED]),
    spec!("user.login", "POST", "/api/auth/login", Session, 60, [], [(401, "invalid email or password"), (429, "too many attempts: try again in 5 minutes")]),
    spec!("user.logout", "POST", "/api/auth/logout", Session, 20, [], []),
    spec!("user.password_changed", "POST", "/api/auth/password", Session, 1, [], [(422, "password too short")]),
    spec!("user.mfa.enabled", "POST", "/api/auth/mfa", Session, 1, [], []),
    spec!("datastore.created", "POST", "/api/projects/{project}/datastores", Datastore, 1, [], [(422, "quota exceeded: 3 datastores per project")]),
    spec!("datastore.backup.created", "POST", "/api/datastores/{id}/backups", Datastore, 18, [], [UPSTREAM, TIMEOUT]),
    spec!("datastore.updated", "PATCH", "/api/datastores/{id}", Datastore, 2, ["storage_gb", "version"], [DENIED]),
    spec!("organization.settings.updated", "PATCH", "/api/organization", Organization, 1, ["session_lifetime_hours", "require_mfa"], [DENIED]),
    spec!("organization.sso.updated", "PUT", "/api/organization/sso", Organization, 1, ["provider", "enforced"], [DENIED]),
    spec!("organization.audit_export.created", "POST", "/api/organization/audit-exports", Organization, 1, [], []),
];

/// Datastore names, per project index.
pub const DATASTORES: &[&str] = &["postgres-main", "redis-cache", "clickhouse-events"];
pub const SECRETS: &[&str] = &["DATABASE_URL", "STRIPE_API_KEY", "SENTRY_DSN", "JWT_SIGNING_KEY", "SMTP_PASSWORD"];
pub const ROLES: &[&str] = &["viewer", "developer", "admin"];
pub const IMAGES_TAGS: &[&str] = &["v1.41.0", "v1.41.1", "v1.42.0", "v1.42.1", "v1.43.0-rc1", "v1.43.0"];
