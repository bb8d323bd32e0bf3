//! Typed records: what one command writes and another reads back.
//!
//! Commands hand data to each other through the case journal (an `end`
//! entry's `details`), the bundle manifest and the report. Before this
//! module those were hand-built JSON read back by key name, so renaming a
//! field on the writer silently disabled the reader (the evidence gate, the
//! report). Here each such record is one serde type that the writer
//! serialises and the reader deserialises: a record that does not parse is
//! an error naming the journal entry, never a silent default.
//!
//! The on-disk names are a format: journals and manifests written by
//! earlier versions must still read. So members are only ever added (as
//! `Option` or with `#[serde(default)]`), never renamed, and unknown extra
//! members are ignored on read.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The type of a file, one vocabulary for the walker, the collector, the
/// bundle reader, the timeline and every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    /// A second name for a file already stored (tar's hard-link member).
    Hardlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    /// Anything else (a tar member type `ir` never writes).
    #[serde(other)]
    Unknown,
}

impl FileKind {
    /// From the type bits of `st_mode` (`S_IFMT`).
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & 0o170000 {
            0o100000 => FileKind::File,
            0o040000 => FileKind::Dir,
            0o120000 => FileKind::Symlink,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            0o020000 => FileKind::CharDevice,
            0o060000 => FileKind::BlockDevice,
            _ => FileKind::Unknown,
        }
    }

    /// From a `std` file type (never a hard link: that is a property of a
    /// second name, not of the file).
    pub fn from_file_type(ft: std::fs::FileType) -> FileKind {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_file() {
            FileKind::File
        } else if ft.is_dir() {
            FileKind::Dir
        } else if ft.is_symlink() {
            FileKind::Symlink
        } else if ft.is_fifo() {
            FileKind::Fifo
        } else if ft.is_socket() {
            FileKind::Socket
        } else if ft.is_char_device() {
            FileKind::CharDevice
        } else if ft.is_block_device() {
            FileKind::BlockDevice
        } else {
            FileKind::Unknown
        }
    }

    /// From a tar member type.
    pub fn from_tar(t: tar::EntryType) -> FileKind {
        use tar::EntryType as T;
        match t {
            T::Regular | T::Continuous | T::GNUSparse => FileKind::File,
            T::Directory => FileKind::Dir,
            T::Symlink => FileKind::Symlink,
            T::Link => FileKind::Hardlink,
            T::Fifo => FileKind::Fifo,
            T::Char => FileKind::CharDevice,
            T::Block => FileKind::BlockDevice,
            _ => FileKind::Unknown,
        }
    }

    /// The name written to manifests and JSON (`char_device`).
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Symlink => "symlink",
            FileKind::Hardlink => "hardlink",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
            FileKind::CharDevice => "char_device",
            FileKind::BlockDevice => "block_device",
            FileKind::Unknown => "unknown",
        }
    }

    /// The name for a sentence (`char device`, `directory`).
    pub fn words(self) -> &'static str {
        match self {
            FileKind::Dir => "directory",
            FileKind::CharDevice => "char device",
            FileKind::BlockDevice => "block device",
            FileKind::Hardlink => "hard link",
            k => k.as_str(),
        }
    }

    /// The one-letter type of `ls -l` and of a TSK bodyfile's mode string.
    pub fn type_char(self) -> char {
        match self {
            FileKind::File | FileKind::Hardlink => '-',
            FileKind::Dir => 'd',
            FileKind::Symlink => 'l',
            FileKind::Fifo => 'p',
            FileKind::Socket => 's',
            FileKind::CharDevice => 'c',
            FileKind::BlockDevice => 'b',
            FileKind::Unknown => '?',
        }
    }

    /// Neither a regular file, a directory nor a link: never opened.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            FileKind::Fifo
                | FileKind::Socket
                | FileKind::CharDevice
                | FileKind::BlockDevice
                | FileKind::Unknown
        )
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

/// One severity scale for every detector (hunt, persistence, audit), most
/// serious last so that `Ord` sorts `Critical` highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warn,
    Critical,
}

impl Severity {
    /// The name written to JSON and shown to the operator.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Critical => "critical",
        }
    }

    /// Parses `critical`, `warn` or `info`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "critical" => Some(Severity::Critical),
            "warn" => Some(Severity::Warn),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which detector raised a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSource {
    Hunt,
    Persistence,
    Audit,
    Timeline,
}

/// A finding in the one shape the report ranks and renders, whichever
/// detector raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub source: FindingSource,
    pub severity: Severity,
    /// The hunt rule, persistence flag or audit check id.
    pub rule: String,
    /// The persistence mechanism, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
    /// Where: a host path, `file:line` or `db:table:rowid`.
    pub location: String,
    /// What was seen (escaped), short.
    pub evidence: String,
}

impl From<&Hit> for Finding {
    fn from(h: &Hit) -> Finding {
        Finding {
            source: FindingSource::Hunt,
            severity: h.severity,
            rule: h.rule.clone(),
            mechanism: None,
            location: h.source.clone(),
            evidence: h.snippet.clone(),
        }
    }
}

impl From<&AuditFinding> for Finding {
    fn from(f: &AuditFinding) -> Finding {
        Finding {
            source: FindingSource::Audit,
            severity: f.severity,
            rule: f.id.clone(),
            mechanism: None,
            location: String::new(),
            evidence: f.detail.clone(),
        }
    }
}

impl FlaggedItem {
    /// One finding per flag. Persistence flags carry no severity of their
    /// own yet, so the caller grades them.
    pub fn findings(&self, severity: impl Fn(&str) -> Severity) -> Vec<Finding> {
        self.flags
            .iter()
            .map(|flag| Finding {
                source: FindingSource::Persistence,
                severity: severity(flag),
                rule: flag.clone(),
                mechanism: Some(self.mechanism.clone()),
                location: self.path.clone(),
                evidence: self.command.clone().unwrap_or_default(),
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The journal.

/// Every journal entry: the envelope `ir` stamps on it, then its body. The
/// trailing `digest` member is checked byte-wise by the journal module, not
/// here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub seq: u64,
    pub prev: String,
    pub ts: String,
    /// `ir-journal/1`, on the first entry only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The writing binary's hash, on the first entry only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ir_sha256: Option<String>,
    /// The commit the writing binary was built from (`abc1234 2026-11-26`,
    /// `+dirty`, or `unknown`), on the first entry only: with the hash, it
    /// ties the case to the exact source that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ir_build: Option<String>,
    pub host: String,
    pub uid: u32,
    pub user: String,
    pub pid: u32,
    pub ir_version: String,
    /// A write that a killed run left cut short, named by the next entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_partial: Option<Partial>,
    #[serde(flatten)]
    pub body: Record,
}

/// The fragment of an interrupted write, as the entry after it records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub offset: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// What a journal entry says, by its `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Start(Start),
    End(End),
    Event(Event),
    Note(Note),
}

impl Record {
    /// The run this entry belongs to (notes belong to none).
    pub fn run(&self) -> Option<&str> {
        match self {
            Record::Start(s) => Some(&s.run),
            Record::End(e) => Some(&e.run),
            Record::Event(e) => Some(&e.run),
            Record::Note(_) => None,
        }
    }

    /// The command this entry belongs to.
    pub fn command(&self) -> Option<&str> {
        match self {
            Record::Start(s) => Some(&s.command),
            Record::End(e) => Some(&e.command),
            Record::Event(e) => Some(&e.command),
            Record::Note(_) => None,
        }
    }
}

/// What a command was asked to look at, as its `start` entry records it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetRecord {
    pub root: String,
    pub home: Option<String>,
    pub config: Option<String>,
    pub profile: Option<String>,
    /// The OpenClaw variables of the environment that chose the target.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The target host's name (`--hostname`, else read from the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// Chain-of-custody fields: set once per case (the first start entry that
/// gives them holds them), then in every manifest and the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Custody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examiner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Custody {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Custody::default()
    }

    /// (label, value) of each field that is set, for rendering.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("examiner", &self.examiner),
            ("case number", &self.case_number),
            ("evidence number", &self.evidence_number),
            ("description", &self.description),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

/// A command began.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Start {
    pub run: String,
    pub command: String,
    /// argv with secret values redacted.
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub target: TargetRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// The case's custody fields, on the start entry that set them (boxed:
    /// rare, and a `Start` should not grow every record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<Box<Custody>>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
    Refused,
    Interrupted,
}

impl Status {
    /// The name written to the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Refused => "refused",
            Status::Interrupted => "interrupted",
        }
    }
}

/// A command ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct End {
    pub run: String,
    pub command: String,
    pub duration_ms: u64,
    pub status: Status,
    pub exit_code: i32,
    /// The command's own record; read it with [`End::details_as`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl End {
    /// The command's record in `details`; an error naming entry `seq` when
    /// it is missing or does not parse as `T`.
    pub fn record<T: serde::de::DeserializeOwned>(&self, seq: u64) -> anyhow::Result<T> {
        details_as(self.details.as_ref(), &self.command, seq)
    }
}

/// Something a running command did that the journal must hold on its own
/// line (a signal sent, a credential revoked, a playbook step).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub run: String,
    pub command: String,
    pub event: String,
    #[serde(default)]
    pub details: Value,
}

/// The operator's own words (`ir journal note`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    pub message: String,
    /// The `ir journal note` command line, redacted.
    #[serde(default)]
    pub argv: Vec<String>,
}

/// Reads a command's record out of `details`, naming the entry when it does
/// not parse.
pub fn details_as<T: serde::de::DeserializeOwned>(
    details: Option<&Value>,
    what: &str,
    seq: u64,
) -> anyhow::Result<T> {
    let v =
        details.ok_or_else(|| anyhow::anyhow!("journal entry {seq} ({what}) has no details"))?;
    serde_json::from_value(v.clone()).map_err(|e| {
        anyhow::anyhow!("journal entry {seq} ({what}) does not hold a {what} record: {e}")
    })
}

// ---------------------------------------------------------------------------
// Records of particular commands.

/// The short form of a deployment that goes into journal entries and the
/// bundle manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSummary {
    pub state_dir: String,
    pub state_dir_source: String,
    pub config: String,
    pub config_present: bool,
    pub profile: Option<String>,
    /// `files`, `sqlite`, `mixed` or `empty`.
    pub layout: String,
    pub version: Option<String>,
    #[serde(default)]
    pub workspaces: Vec<String>,
    pub gateway_pid: Option<u32>,
    pub gateway_running: bool,
    pub port: u16,
}

/// How many manifest items got one verdict, and their stored bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub bytes: u64,
}

/// How a bundle is encrypted: to recipients (their public strings,
/// shortened) or with a passphrase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EncryptionRecord {
    Recipients { recipients: Vec<String> },
    Passphrase { passphrase: bool },
}

impl EncryptionRecord {
    /// Whether the bundle opens with a passphrase rather than a key.
    pub fn is_passphrase(&self) -> bool {
        matches!(self, EncryptionRecord::Passphrase { .. })
    }
}

/// What `ir collect` journals in its `end` entry, and what the evidence
/// gate, `verify` and the report read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectRecord {
    /// The bundle's final path.
    pub bundle: PathBuf,
    /// SHA-256 of the bundle's ciphertext.
    pub sha256: String,
    pub size: u64,
    /// `<bundle>.sha256`.
    pub sidecar: PathBuf,
    /// The plaintext manifest copy in the case dir.
    pub manifest: PathBuf,
    pub manifest_sha256: String,
    /// The bundle's top folder.
    pub top: String,
    pub items: u64,
    pub input_bytes: u64,
    /// Verdict name → tally.
    pub verdicts: BTreeMap<String, Tally>,
    #[serde(default)]
    pub snapshots: Vec<String>,
    pub encryption: EncryptionRecord,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentSummary>,
    /// The bundle went to stdout (`ir collect -o -`): `bundle` is the name
    /// it should be given, and nothing on the host holds it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub streamed: bool,
}

/// How a manifest item was read.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Read whole, unchanged during the read.
    #[default]
    Ok,
    /// Its size or times moved while it was read.
    ChangedDuringRead,
    /// Stored cut at `--max-file-size`.
    TruncatedAtCap,
    /// A FIFO, socket or device: recorded, never opened.
    SkippedSpecial,
    /// Permission denied.
    Denied,
    /// Gone between listing and reading.
    Vanished,
}

impl Verdict {
    /// Every verdict, in the order manifests list them.
    pub const ALL: [Verdict; 6] = [
        Verdict::Ok,
        Verdict::ChangedDuringRead,
        Verdict::TruncatedAtCap,
        Verdict::SkippedSpecial,
        Verdict::Denied,
        Verdict::Vanished,
    ];

    /// The name written to manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::ChangedDuringRead => "changed_during_read",
            Verdict::TruncatedAtCap => "truncated_at_cap",
            Verdict::SkippedSpecial => "skipped_special",
            Verdict::Denied => "denied",
            Verdict::Vanished => "vanished",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a playbook step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Ok,
    /// Exit 1 from an `ir` step: done, and it found something.
    Findings,
    Failed,
    /// Its `when` was false.
    Skipped,
    /// It succeeded in the run being resumed.
    DoneBefore,
    Interrupted,
    /// A requirement failed or the operator said no.
    Refused,
}

impl StepStatus {
    /// The name written to the journal and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::Findings => "findings",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::DoneBefore => "done-before",
            StepStatus::Interrupted => "interrupted",
            StepStatus::Refused => "refused",
        }
    }

    /// Whether a later step that `requires` this one may run.
    pub fn succeeded(self) -> bool {
        matches!(
            self,
            StepStatus::Ok | StepStatus::Findings | StepStatus::DoneBefore
        )
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `details` of an `ir run` start entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunStart {
    pub playbook: String,
    /// `shipped` or the playbook file's path.
    pub origin: String,
    /// SHA-256 of the playbook text that ran.
    pub sha256: String,
    /// `--set` variables, secret values redacted.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub resume: bool,
    #[serde(default)]
    pub done_before: Vec<String>,
}

/// The `details` of a playbook's `step start` event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepStart {
    pub id: String,
    /// The step's command, secret values redacted.
    pub command: Vec<String>,
    #[serde(default)]
    pub effects: Vec<String>,
}

/// The `details` of a playbook's `step end` event, and one step of the
/// run's `end` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepEnd {
    pub id: String,
    pub status: StepStatus,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub seconds: f64,
    /// Where an `ir` step's output went.
    #[serde(default)]
    pub output: Option<PathBuf>,
}

/// The `details` of an `ir run` end entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub playbook: String,
    pub steps: Vec<StepEnd>,
}

/// A rule hit of `ir hunt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    /// Where: `file:line` or `db:table:rowid`.
    pub source: String,
    /// The matched text in context, escaped and cut short.
    pub snippet: String,
    pub session: Option<String>,
    pub agent: Option<String>,
    pub time: Option<String>,
    /// The rule's family (`injection`, `jailbreak`, `exec`, `persistence`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The MITRE ATT&CK technique or OWASP LLM Top 10 id the rule maps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<String>,
    /// How the matched text was recovered, when it was hidden or encoded
    /// (`base64`, `invisible characters removed, look-alikes folded`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// Where the text came from: a user message, a tool's result (with the
    /// fetched URL), escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// For a chain: the sources of every row it joins, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
}

/// What `ir hunt` journals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HuntRecord {
    pub sources: usize,
    pub tool_calls: usize,
    pub hits: usize,
    pub by_rule: BTreeMap<String, usize>,
    pub malformed: u64,
    pub unreadable: usize,
    /// The first hundred hits, most serious first.
    pub top_hits: Vec<Hit>,
    /// Lines of the shared `/tmp/openclaw` log left out because they name
    /// another deployment (absent in older journals).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_deployment_lines: u64,
    /// Every transcript message, tool call and log line of this
    /// deployment, as a case artifact (absent in older journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<ArtifactRef>,
    /// Each session's attack told as a chain, with the files it changed
    /// (absent in older journals).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<AttackChain>,
    /// Transcript events over the hunt's size cap, not matched, and the
    /// bytes they held (absent in older journals, and when none was cut).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cut_events: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cut_bytes: u64,
}

/// A case artifact a command wrote into the case dir ([`crate::artifact`]):
/// the report reads it only while it still matches this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// Its file name in the case dir.
    pub file: String,
    /// The sha256 of its bytes, hex.
    pub sha256: String,
    /// How many events (lines) it holds.
    pub lines: u64,
    /// Events left out past the cap ([`crate::artifact::MAX_EVENTS`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

/// Which lane of the report's timeline an artifact event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventLane {
    /// A message the agent read or wrote.
    Transcript,
    /// A tool call the agent made.
    ToolCall,
    /// A line of this deployment's gateway log.
    GatewayLog,
    /// A path that changed in the window.
    File,
}

/// One line of an event artifact: what happened, when, where. Host
/// strings are escaped, redacted and bounded when written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// RFC 3339, when the source carries a time.
    #[serde(default)]
    pub time: Option<String>,
    pub lane: EventLane,
    pub what: String,
    /// `file:line`, `db:table:rowid` or a host path.
    #[serde(rename = "where")]
    pub location: String,
}

/// Where the injected text of a chain came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainOrigin {
    /// `message` (an inbound message), `url` (fetched content), `file` (a
    /// skill, memory or prompt file the agent read) or `unknown`.
    pub kind: String,
    /// The channel an inbound message came through (`telegram`), when the
    /// session names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The sender (the peer id of the session key), when the session names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The fetched URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The skill, memory or prompt file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The hunt's own words for it (`result of web_fetch from …`), escaped.
    #[serde(default)]
    pub text: String,
}

/// A tool call that followed the injected text in the same session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainCall {
    pub time: Option<String>,
    /// `file:line` or `db:table:rowid`.
    pub source: String,
    pub tool: String,
    /// The command or arguments, redacted, escaped and cut short.
    pub command: String,
    /// The hunt rules the call hit (empty for a call no rule flagged).
    #[serde(default)]
    pub rules: Vec<String>,
}

/// A persistence item a chain's write landed on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainPersistence {
    pub mechanism: String,
    /// The item's flags (its id within the persistence record).
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// A file a chain's tool calls wrote or changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainFile {
    /// Host path, escaped.
    pub path: String,
    /// The source of the tool call that wrote it.
    pub written_by: String,
    /// Its mtime and ctime on the host (RFC 3339), when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<String>,
    /// Whether it changed after the injected row (mtime or ctime later);
    /// `None` when the file or a time is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_after: Option<bool>,
    /// The flagged persistence item at this path in the case's last
    /// `ir persistence` record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<ChainPersistence>,
    /// The change the case's last `ir timeline` saw at this path (its
    /// artifact's event): the times as triage found them, which still
    /// tell the story after a later step (quarantine, restore) touched or
    /// removed the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<CaseEvent>,
}

/// One session's attack: the injected row, where it came from, the tool
/// calls after it and the files they changed, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackChain {
    pub session: Option<String>,
    pub agent: Option<String>,
    /// When the injected row was written.
    pub time: Option<String>,
    /// The injected row (`file:line` or `db:table:rowid`).
    pub source: String,
    /// The rule the injected text hit, and its title.
    pub rule: String,
    #[serde(default)]
    pub title: String,
    /// The injected text, escaped and cut short.
    #[serde(default)]
    pub snippet: String,
    #[serde(default)]
    pub origin: ChainOrigin,
    #[serde(default)]
    pub calls: Vec<ChainCall>,
    #[serde(default)]
    pub files: Vec<ChainFile>,
}

/// What `ir inventory` journals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InventoryRecord {
    pub deployment: DeploymentSummary,
    #[serde(default)]
    pub problems: Vec<crate::openclaw::Problem>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A persistence item that raised a flag, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlaggedItem {
    pub mechanism: String,
    /// Host path, escaped.
    pub path: String,
    pub flags: Vec<String>,
    pub command: Option<String>,
    /// Its most serious flag's severity (absent in journals before it was
    /// kept, and then left out, so an old journal reports as it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The program the entry runs whose content raised `payload_flags`
    /// (both absent in older journals, and left out when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payload_flags: Vec<String>,
}

/// What `ir persistence` journals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersistenceRecord {
    pub items: usize,
    pub by_mechanism: BTreeMap<String, usize>,
    pub flagged: Vec<FlaggedItem>,
    /// The baseline compared against, if any.
    pub baseline: Option<PathBuf>,
    pub unreadable: usize,
}

/// A path the timeline found changed in its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedPath {
    /// Host path, escaped.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: FileKind,
    pub size: u64,
    /// `ls -l` style (`-rw-r--r--`).
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    pub inode: u64,
    pub mtime: Option<String>,
    pub atime: Option<String>,
    pub ctime: Option<String>,
    pub btime: Option<String>,
    /// Which of `m`, `c`, `b` fell in the window.
    pub matched: Vec<String>,
    /// `future_mtime`, `mtime_predates_ctime`.
    pub flags: Vec<String>,
}

/// What `ir timeline` journals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineRecord {
    pub since: String,
    pub until: String,
    pub roots: usize,
    pub scanned: u64,
    pub changed: usize,
    pub flagged: usize,
    pub unreadable: usize,
    /// The first fifty flagged paths.
    pub flagged_entries: Vec<ChangedPath>,
    /// The twenty newest changes.
    pub newest: Vec<ChangedPath>,
    /// Every changed path, as a case artifact (absent in older journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<ArtifactRef>,
}

/// One hardening audit finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditFinding {
    /// OpenClaw's check id, or `ir.*` for checks only `ir` makes.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub fix: String,
    /// Whether `ir audit --fix` repairs it.
    pub fixable: bool,
}

/// What kind of change a safe fix made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Permission bits of a file or dir.
    Chmod,
    /// A value in the OpenClaw config.
    Config,
}

/// One change a safe fix made (`ir audit --fix`, `ir recover`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// A host path (chmod) or a config key (config).
    pub path: String,
    pub from: String,
    pub to: String,
}

/// What `ir audit` journals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    /// With `--fix`: the findings before the fixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings_before: Option<Vec<AuditFinding>>,
    pub findings: Vec<AuditFinding>,
    /// Each change `--fix` made.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// A secret `ir rotate` replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rotated {
    pub secret: String,
    /// Where the new value was written.
    pub written_to: String,
    pub old_fingerprint: Option<String>,
    pub new_fingerprint: String,
}

/// A provider credential to revoke at its provider (never the value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub provider: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    pub last4: String,
    pub sha256_prefix: String,
}

/// Pairings or devices `ir rotate` revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revoked {
    pub what: String,
    pub count: u64,
    #[serde(rename = "where")]
    pub location: String,
}

/// A file the evidence gate did not cover, and why (journaled when a
/// destructive command was `--force`d past the gate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uncovered {
    pub path: String,
    pub reason: String,
}

/// The proof of a rotation against the running gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proof {
    pub checked: bool,
    pub old_rejected: Option<bool>,
    pub new_accepted: Option<bool>,
    pub detail: String,
}

/// What `ir rotate` journals.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RotateRecord {
    pub rotated: Vec<Rotated>,
    pub revoked: Vec<Revoked>,
    #[serde(default)]
    pub revocation_skipped: Option<String>,
    pub provider_credentials: Vec<Credential>,
    #[serde(default)]
    pub backups_purged: Vec<String>,
    #[serde(default)]
    pub proof: Proof,
    pub operator_actions: Vec<String>,
    #[serde(default)]
    pub forced: Vec<Uncovered>,
}

/// What `ir clear-sessions` journals.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClearRecord {
    pub agents: Vec<String>,
    pub files_removed: Vec<String>,
    /// Per database: its path and the rows deleted from each table.
    pub rows_deleted: Vec<RowsDeleted>,
    #[serde(default)]
    pub forced: Vec<Uncovered>,
    #[serde(default)]
    pub notes: Vec<String>,
    // Members added after 0.1.0 are left out when empty, so a report made
    // from an older journal reads as it did.
    /// Import archives removed: verbatim legacy transcripts OpenClaw keeps
    /// in `agents/<id>/session-sqlite-import-archive/` after an upgrade.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archives_removed: Vec<String>,
    /// Task and flow rows deleted from the global state database
    /// (`task_runs` holds each run's full prompt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_rows_deleted: Option<RowsDeleted>,
    /// Per agent database: the session-derived memory index it forgot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_forgotten: Vec<MemoryForgotten>,
}

/// What `ir clear-sessions` removed from one agent database's memory index,
/// the way OpenClaw's own "forget" does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryForgotten {
    /// Host path, escaped.
    pub db: String,
    /// Table → session-derived rows deleted (`source = 'sessions'`).
    pub rows: BTreeMap<String, u64>,
    /// Session ids tombstoned so OpenClaw does not index them again, escaped.
    pub tombstoned: Vec<String>,
}

/// Rows `ir clear-sessions` deleted from one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowsDeleted {
    /// Host path, escaped.
    pub db: String,
    /// Table → rows deleted.
    pub rows: BTreeMap<String, u64>,
}

/// A line `ir quarantine` removed from a shared file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovedLine {
    /// 1-based line number in the original file.
    pub line: u64,
    /// The line without its newline, escaped reversibly
    /// ([`crate::sanitize::escape_bytes`]): safe to print, exact to restore.
    pub text: String,
    /// The flag rules it raised.
    pub flags: Vec<String>,
}

/// One file `ir quarantine` moved out (a whole file or a symlink) or edited
/// (a shared file, offending lines removed): everything `--undo` needs to
/// put back the identical file. Journaled in a `quarantine` event before
/// the host is changed, and kept as `record.json` beside the copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The quarantine id: `<case>/quarantine/<id>/`.
    pub id: String,
    /// The original host path, escaped reversibly.
    pub path: String,
    /// `file` or `symlink`.
    pub kind: FileKind,
    /// Moved out whole (true), or only its offending lines removed.
    pub whole_file: bool,
    /// The copy of the original in the case dir (local path, escaped).
    pub stored: String,
    /// SHA-256 of the original bytes (of a symlink: of its target).
    pub sha256: String,
    pub size: u64,
    /// Permission bits in octal (`644`).
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    /// RFC 3339 UTC with nanoseconds.
    pub mtime: String,
    pub atime: String,
    /// A symlink's target, escaped reversibly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// A shared file: SHA-256 of what was left in place, which `--undo`
    /// requires to find unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256_after: Option<String>,
    #[serde(default)]
    pub removed_lines: Vec<RemovedLine>,
    /// The persistence mechanism it was found as, when known.
    #[serde(default)]
    pub mechanism: Option<String>,
    /// The flags that made it a target.
    #[serde(default)]
    pub flags: Vec<String>,
    pub quarantined_at: String,
}

/// An item `ir quarantine` left in place, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeftItem {
    /// Host path, escaped.
    pub path: String,
    pub reason: String,
}

/// What `ir quarantine` journals in its `end` entry (and prints with
/// `--json`): what it quarantined or, with `--undo`, restored, and what it
/// left.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QuarantineRunRecord {
    #[serde(default)]
    pub quarantined: Vec<QuarantineRecord>,
    #[serde(default)]
    pub restored: Vec<QuarantineRecord>,
    #[serde(default)]
    pub left: Vec<LeftItem>,
    #[serde(default)]
    pub forced: Vec<Uncovered>,
}

/// What `ir recover` journals.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecoverRecord {
    /// What OpenClaw would have resumed on start, neutralised first.
    #[serde(default)]
    pub neutralised: Vec<Resumable>,
    /// The safe fixes it applied.
    #[serde(default)]
    pub fixes: Vec<Change>,
    /// How the gateway was started (with `--start`).
    #[serde(default)]
    pub started: Option<String>,
    /// Whether `/healthz` answered.
    #[serde(default)]
    pub healthy: Option<bool>,
    #[serde(default)]
    pub listeners: Vec<String>,
    /// Whether it listens only where the config says.
    #[serde(default)]
    pub listening_as_configured: Option<bool>,
    /// The post-incident audit written beside the journal.
    #[serde(default)]
    pub post_audit: PathBuf,
    pub findings: Vec<AuditFinding>,
    pub todo: Vec<String>,
}

/// One environment variable of a gateway process; values of secret-named
/// variables are `<redacted>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
}

/// A gateway process as `ir` saw it before stopping it (and as collect
/// stores it under `volatile/`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewayProcessRecord {
    pub pid: u32,
    pub process: Option<crate::host::procfs::Process>,
    #[serde(default)]
    pub environ: Vec<EnvVar>,
    /// fd number → target, escaped.
    #[serde(default)]
    pub open_files: BTreeMap<String, String>,
    pub cgroup: Option<String>,
    pub status: Option<String>,
    /// Its children (in a pre-stop snapshot only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<GatewayProcessRecord>,
    /// When it started, RFC 3339 (in a pre-stop snapshot only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
}

/// The `pre-stop snapshot` event of `ir stop`: what stopping destroys,
/// and what `ir recover --start` reads to start the gateway as it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreStopSnapshot {
    pub processes: Vec<GatewayProcessRecord>,
    /// Its TCP sockets, with their owners.
    #[serde(default)]
    pub sockets: Value,
    /// The lock files, as inventory reads them.
    #[serde(default)]
    pub locks: Value,
    #[serde(default)]
    pub supervisors: Value,
}

/// What would start on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResumeKind {
    /// A main session whose row says `running`: restart recovery resumes it.
    Session,
    /// An outbound or session delivery still pending: sent on start.
    Delivery,
    /// The restart sentinel: its continuation can be an agent turn.
    RestartSentinel,
    /// A scheduled job an agent created (`cron_jobs`, an owner session and
    /// no declaration): its missed or next run is an agent turn. Disabled
    /// as `openclaw cron edit --disable` records it.
    CronJob,
    /// A scheduled job cut off mid-run (or queued): start repairs it and
    /// may run it again. Marked failed as OpenClaw's startup repair does,
    /// its running run receipt `interrupted`.
    CronRun,
    /// A declared (or operator's) scheduled job with a missed run: it
    /// catches up on start. Not changed (config reconciliation would undo
    /// it); named in recover's to-do with how to stop it.
    CronCatchUp,
    /// A subagent run not settled: start terminalises it and announces it
    /// to its requester as a new agent turn. Recorded as killed, its
    /// delivery discarded.
    SubagentRun,
    /// An inbound channel update (Telegram) pending or claimed: start
    /// dispatches it as a new inbound turn. Dead-lettered (`failed`).
    IngressEvent,
    /// A background task still active or with a pending delivery: start
    /// wakes its owner session with the result. Cancelled, delivery
    /// `not_applicable`.
    Task,
    /// An exec or plugin approval still pending: cancelled as OpenClaw's
    /// start does (`gateway-restart`), before it starts.
    Approval,
}

impl ResumeKind {
    /// The name shown and journaled.
    pub fn as_str(self) -> &'static str {
        match self {
            ResumeKind::Session => "session",
            ResumeKind::Delivery => "delivery",
            ResumeKind::RestartSentinel => "restart_sentinel",
            ResumeKind::CronJob => "cron_job",
            ResumeKind::CronRun => "cron_run",
            ResumeKind::CronCatchUp => "cron_catch_up",
            ResumeKind::SubagentRun => "subagent_run",
            ResumeKind::IngressEvent => "ingress_event",
            ResumeKind::Task => "task",
            ResumeKind::Approval => "approval",
        }
    }
}

/// One thing OpenClaw would resume or retry on start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumable {
    pub kind: ResumeKind,
    /// The database or `sessions.json` it lives in (host path, escaped).
    pub store: String,
    /// The session key, delivery id, sentinel key, job id, run id, ingress
    /// event (`queue/event`), task id or approval id.
    pub key: String,
    /// The session it belongs to (for a delivery, job, run or task: the
    /// owning session key), when known.
    pub session_id: Option<String>,
    /// What it is and what is left to do about it, when `ir` does not
    /// change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Local path of the store (not serialised: the host path is shown).
    #[serde(skip)]
    pub local: PathBuf,
}

impl Resumable {
    /// Whether `ir` changes it; an item with a note is only named.
    pub fn changed_by_ir(&self) -> bool {
        self.note.is_none()
    }
}

/// A prompt file `ir restore` put back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restored {
    /// Host path, escaped.
    pub path: String,
    /// Where the known-good version came from (`template`).
    pub source: String,
    /// The file it replaced (absent when there was none).
    pub old_sha256: Option<String>,
    pub new_sha256: String,
    /// Lines only in the replaced file, escaped (what was planted).
    pub removed_lines: Vec<String>,
}

/// What `ir restore` journals.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RestoreRecord {
    pub restored: Vec<Restored>,
    #[serde(default)]
    pub forced: Vec<Uncovered>,
}

/// `manifest.json`: the bundle's header, then one item per path.
///
/// Read only with [`Manifest::from_json`]: a derived `Deserialize` with a
/// flattened header buffers the whole document as untyped values first,
/// and a crafted `{"items":[0,0,…]}` then costs gigabytes.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    #[serde(flatten)]
    pub header: ManifestHeader,
    pub items: Vec<ManifestItem>,
}

/// Only the items of a manifest (the header is skipped unbuffered).
#[derive(Deserialize)]
struct ManifestItems {
    items: Vec<ManifestItem>,
}

impl Manifest {
    /// Parses a manifest in two streaming passes (header, then items), so
    /// memory is bounded by the typed items and a first item that is not
    /// an item object fails at once.
    pub fn from_json(bytes: &[u8]) -> serde_json::Result<Manifest> {
        let header: ManifestHeader = serde_json::from_slice(bytes)?;
        let ManifestItems { items } = serde_json::from_slice(bytes)?;
        Ok(Manifest { header, items })
    }

    /// Streams a manifest from `r`: each item goes to `each` as soon as it
    /// is parsed and is then dropped, so memory holds one item at a time
    /// however many the manifest lists; the header is returned. Anything in
    /// `items` that is not an item object fails at once.
    pub fn stream(
        r: impl std::io::Read,
        each: &mut dyn FnMut(ManifestItem),
    ) -> serde_json::Result<ManifestHeader> {
        let mut de = serde_json::Deserializer::from_reader(r);
        let header = serde::de::DeserializeSeed::deserialize(ManifestSeed(each), &mut de)?;
        de.end()?;
        Ok(header)
    }
}

/// Deserialises a manifest object, handing its items one by one to a
/// callback and keeping only the (small) header fields.
struct ManifestSeed<'a>(&'a mut dyn FnMut(ManifestItem));

impl<'de> serde::de::DeserializeSeed<'de> for ManifestSeed<'_> {
    type Value = ManifestHeader;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<ManifestHeader, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ManifestSeed<'_> {
    type Value = ManifestHeader;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an ir manifest object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<ManifestHeader, A::Error> {
        use serde::de::Error;
        let ManifestSeed(each) = self;
        let mut rest = serde_json::Map::new();
        let mut items = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                map.next_value_seed(ItemsSeed(&mut *each))?;
                items = true;
            } else {
                rest.insert(key, map.next_value::<serde_json::Value>()?);
            }
        }
        if !items {
            return Err(A::Error::missing_field("items"));
        }
        ManifestHeader::deserialize(serde_json::Value::Object(rest)).map_err(A::Error::custom)
    }
}

/// The `items` array, item by item.
struct ItemsSeed<'a>(&'a mut dyn FnMut(ManifestItem));

impl<'de> serde::de::DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of manifest items")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(it) = seq.next_element::<ManifestItem>()? {
            (self.0)(it);
        }
        Ok(())
    }
}

/// What a manifest says about the bundle as a whole.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestHeader {
    /// `ir-bundle/1`.
    pub format: String,
    pub created: String,
    /// The host the evidence came from.
    pub host: String,
    pub ir_version: String,
    /// The `--root` it was read under.
    pub root: String,
    #[serde(default)]
    pub deployment: Option<DeploymentSummary>,
    /// The verdict names this manifest uses.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    /// The case's chain-of-custody fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<Custody>,
}

/// One path in the bundle: what it was on the host, where it is in the
/// bundle, and how it was read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// The host path, escaped (`None` for what `ir` generated itself).
    pub path: Option<String>,
    /// The path relative to the bundle's top folder, escaped (`None` when
    /// nothing was stored).
    pub archive_path: Option<String>,
    /// Why it was collected (`state_dir`, `persistence`, `volatile`...).
    pub source: String,
    /// The raw host path in base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FileKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Permission bits in octal (`644`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// RFC 3339 UTC with nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<String>,
    /// Birth time, where the filesystem keeps one.
    #[serde(default)]
    pub btime: Option<String>,
    /// A symlink's target, or the first name of a hard link (escaped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Bytes stored in the bundle (less than `size` when cut or sparse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_data_bytes: Option<u64>,
    /// Read from procfs/sysfs, whose sizes lie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_file: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub verdict: Verdict,
}

/// A persistence baseline (`ir persistence --save-baseline`): every item
/// found on a trusted host, and a copy of each prompt file so that
/// `ir restore --from baseline` can put it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// `ir-persistence-baseline/1`.
    pub format: String,
    pub created: String,
    pub items: Vec<crate::triage::persistence::Item>,
    /// Absent in baselines written before copies were kept.
    #[serde(default)]
    pub prompt_files: Vec<KeptFile>,
}

/// A file's content as a baseline keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeptFile {
    /// Host path, escaped.
    pub path: String,
    pub sha256: String,
    /// The bytes, base64 (prompt files may hold anything).
    pub base64: String,
}

impl KeptFile {
    /// Keeps `data` as the content of `path`.
    pub fn new(path: String, data: &[u8]) -> KeptFile {
        use base64::Engine;
        KeptFile {
            path,
            sha256: crate::journal::sha256_hex(data),
            base64: base64::engine::general_purpose::STANDARD.encode(data),
        }
    }

    /// The kept bytes.
    pub fn content(&self) -> Result<Vec<u8>, base64::DecodeError> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(&self.base64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_kinds_agree_across_sources() {
        for k in [
            FileKind::File,
            FileKind::Dir,
            FileKind::Symlink,
            FileKind::Fifo,
            FileKind::Socket,
            FileKind::CharDevice,
            FileKind::BlockDevice,
        ] {
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, Value::String(k.as_str().into()));
            let back: FileKind = serde_json::from_value(json).unwrap();
            assert_eq!(back, k);
        }
        assert_eq!(FileKind::from_mode(0o100644), FileKind::File);
        assert_eq!(FileKind::from_mode(0o020600), FileKind::CharDevice);
        assert_eq!(FileKind::from_tar(tar::EntryType::Link), FileKind::Hardlink);
        assert_eq!(FileKind::Dir.to_string(), "directory");
        let odd: FileKind = serde_json::from_str("\"door\"").unwrap();
        assert_eq!(odd, FileKind::Unknown);
    }

    #[test]
    fn every_detector_gives_the_one_finding_shape() {
        let hit = Hit {
            rule: "exec.download_and_run".into(),
            severity: Severity::Critical,
            title: "t".into(),
            source: "s.jsonl:3".into(),
            snippet: "curl x | sh".into(),
            session: None,
            agent: None,
            time: None,
            family: None,
            attack: None,
            decoded: None,
            origin: None,
            chain: Vec::new(),
        };
        let f = Finding::from(&hit);
        assert_eq!(
            (f.source, f.severity, f.location.as_str()),
            (FindingSource::Hunt, Severity::Critical, "s.jsonl:3")
        );
        let item = FlaggedItem {
            mechanism: "cron".into(),
            path: "/etc/cron.d/x".into(),
            flags: vec!["download_and_run".into(), "runs_from_tmp".into()],
            command: Some("curl x | sh".into()),
            severity: None,
            payload: None,
            payload_flags: Vec::new(),
        };
        let fs = item.findings(|_| Severity::Warn);
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[1].rule, "runs_from_tmp");
        assert_eq!(fs[1].mechanism.as_deref(), Some("cron"));
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::Warn && Severity::Warn > Severity::Info);
        assert_eq!(Severity::parse("warn"), Some(Severity::Warn));
        assert_eq!(Severity::parse("high"), None);
    }

    #[test]
    fn a_renamed_collect_member_fails_to_read_and_names_the_entry() {
        let v = serde_json::json!({"bundel": "/x", "sha256": "00"});
        let err = details_as::<CollectRecord>(Some(&v), "collect", 7).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("entry 7") && msg.contains("bundle"), "{msg}");
    }
}
