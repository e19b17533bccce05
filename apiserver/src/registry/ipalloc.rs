//! Service cluster IPs and node ports: the configured ranges (`--service-cluster-ip-range`, one
//! CIDR or two of different families, and `--service-node-port-range`) and who holds which
//! address, kept in step with the stored Services (recorded when a write commits, released when
//! the Service is removed).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

use serde_json::Value;

/// kube-apiserver's default `--service-cluster-ip-range` in kind, kubeadm and minikube.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// kube-apiserver's default `--service-node-port-range`.
pub const DEFAULT_NODE_PORT_RANGE: &str = "30000-32767";

/// kube's `ServiceIPRange`: the primary range must hold at least this many addresses (network
/// and broadcast included), so that a /29 or /125 is the smallest.
const MIN_PRIMARY_ADDRESSES: u128 = 8;
/// kube's IP allocator (`NewIPAllocator`) refuses IPv6 ranges with a shorter prefix: it keeps
/// the number of addresses within a `uint64`.
const MIN_IPV6_PREFIX: u8 = 64;

/// A malformed service range.
#[derive(Debug, thiserror::Error)]
pub enum ServiceRangesError {
    /// The service CIDRs do not parse, are too small or too large, or are not one per family.
    #[error(
        "invalid service CIDR {value:?} (--service-cluster-ip-range): {reason}; give one CIDR, \
         or two of different IP families with the primary first, such as {DEFAULT_SERVICE_CIDR} \
         or {DEFAULT_SERVICE_CIDR},fd00:10:96::/112"
    )]
    Cidr { value: String, reason: String },
    /// The node port range does not parse.
    #[error(
        "invalid node port range {value:?}: {reason}; give FIRST-LAST such as {DEFAULT_NODE_PORT_RANGE}"
    )]
    NodePorts { value: String, reason: String },
}

/// An IP family, as a Service's `spec.ipFamilies` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// The family of a textual address: kube's `familyOf` (an address with a colon is IPv6).
    pub fn of_ip(ip: &str) -> Family {
        if ip.contains(':') {
            Family::V6
        } else {
            Family::V4
        }
    }

    /// The API name: `IPv4` or `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// The family `IPv4`/`IPv6` names, None for anything else.
    pub fn parse(name: &str) -> Option<Family> {
        match name {
            "IPv4" => Some(Family::V4),
            "IPv6" => Some(Family::V6),
            _ => None,
        }
    }

    /// The other family.
    pub fn other(self) -> Family {
        match self {
            Family::V4 => Family::V6,
            Family::V6 => Family::V4,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One service CIDR, its addresses as integers (IPv4 in the low 32 bits) so that both families
/// share the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    family: Family,
    network: u128,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::y/n`, masking the host bits as Go's `ParseCIDR` does.
    fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.split_once('/')?;
        // Go accepts decimal digits only, no sign.
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u8 = prefix.parse().ok()?;
        let (family, value) = match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
            IpAddr::V6(a) => (Family::V6, u128::from(a)),
        };
        if prefix > family.bits() {
            return None;
        }
        let host_bits = family.bits() - prefix;
        let mask = if host_bits >= 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        Some(Cidr {
            family,
            network: value & mask,
            prefix,
        })
    }

    fn host_bits(&self) -> u8 {
        self.family.bits() - self.prefix
    }

    /// Every address of the range, network and broadcast included (kube's `RangeSize`),
    /// saturated at `u128::MAX`.
    fn total(&self) -> u128 {
        1u128
            .checked_shl(u32::from(self.host_bits()))
            .unwrap_or(u128::MAX)
    }

    fn last(&self) -> u128 {
        self.network | self.total().wrapping_sub(1)
    }

    /// The addresses handed out: never the network address; for IPv4 not the broadcast address
    /// either (IPv6 has none, so kube's allocator hands out the range's last address).
    fn usable(&self) -> Option<RangeInclusive<u128>> {
        let first = self.network.checked_add(1)?;
        let last = match self.family {
            Family::V4 => self.last().checked_sub(1)?,
            Family::V6 => self.last(),
        };
        (first <= last).then_some(first..=last)
    }

    fn contains(&self, n: u128) -> bool {
        self.network <= n && n <= self.last()
    }

    fn address(&self, n: u128) -> IpAddr {
        match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::from(n as u32)),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address(self.network), self.prefix)
    }
}

/// An address as the integer [`Cidr`] uses, with its family.
fn number(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (Family::V6, u128::from(a)),
    }
}

/// The service IP ranges (primary first) and node port range of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRanges {
    cidrs: Vec<Cidr>,
    node_ports: RangeInclusive<u16>,
}

impl Default for ServiceRanges {
    fn default() -> Self {
        Self::parse(DEFAULT_SERVICE_CIDR, DEFAULT_NODE_PORT_RANGE)
            .expect("the default service ranges parse")
    }
}

impl ServiceRanges {
    /// Parses `cidrs` as kube-apiserver parses `--service-cluster-ip-range` (one CIDR, or two
    /// comma-separated ones of different families, the primary first; empty is the default
    /// range) and `ports` (`FIRST-LAST`). The checks and their wording follow kube's
    /// `getServiceIPAndRanges`, `ServiceIPRange` and `validateClusterIPFlags`; an IPv6 range
    /// shorter than /64 is refused here, where kube's allocator would refuse it on first use.
    pub fn parse(cidrs: &str, ports: &str) -> Result<Self, ServiceRangesError> {
        Ok(Self {
            cidrs: parse_cidrs(cidrs)?,
            node_ports: parse_ports(ports)?,
        })
    }

    /// The configured CIDRs, the primary first.
    pub fn cidrs(&self) -> &[Cidr] {
        &self.cidrs
    }

    /// The family of the primary range: a Service's default family.
    pub fn primary_family(&self) -> Family {
        self.cidrs[0].family
    }

    /// True when a range of `family` is configured.
    pub fn has(&self, family: Family) -> bool {
        self.cidr_of(family).is_some()
    }

    /// True with two ranges (one per family).
    pub fn dual_stack(&self) -> bool {
        self.cidrs.len() == 2
    }

    fn cidr_of(&self, family: Family) -> Option<&Cidr> {
        self.cidrs.iter().find(|c| c.family == family)
    }

    /// The first usable address of the primary range, which the `default/kubernetes` Service
    /// holds.
    pub fn first_ip(&self) -> String {
        let primary = &self.cidrs[0];
        primary.address(primary.network + 1).to_string()
    }

    fn port_range(&self) -> String {
        format!("{}-{}", self.node_ports.start(), self.node_ports.end())
    }
}

fn parse_cidrs(value: &str) -> Result<Vec<Cidr>, ServiceRangesError> {
    let bad = |reason: String| ServiceRangesError::Cidr {
        value: value.to_owned(),
        reason,
    };
    // kube: an empty flag is the default range.
    let text = if value.is_empty() {
        DEFAULT_SERVICE_CIDR
    } else {
        value
    };
    let entries: Vec<&str> = text.split(',').collect();
    let primary = Cidr::parse(entries[0])
        .ok_or_else(|| bad("service-cluster-ip-range[0] is not a valid cidr".into()))?;
    if primary.total() < MIN_PRIMARY_ADDRESSES {
        return Err(bad(format!(
            "error determining service IP ranges for primary service cidr: the service cluster IP range must be at least {MIN_PRIMARY_ADDRESSES} IP addresses"
        )));
    }
    let mut cidrs = vec![primary];
    if let Some(second) = entries.get(1) {
        let second = Cidr::parse(second)
            .ok_or_else(|| bad("service-cluster-ip-range[1] is not an ip net".into()))?;
        cidrs.push(second);
    }
    if entries.len() > 2 {
        return Err(bad(
            "--service-cluster-ip-range must not contain more than two entries".into(),
        ));
    }
    if cidrs.len() == 2 && cidrs[0].family == cidrs[1].family {
        return Err(bad(
            "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family".into(),
        ));
    }
    for c in &cidrs {
        if c.family == Family::V6 && c.prefix < MIN_IPV6_PREFIX {
            return Err(bad(format!(
                "{c}: shortest allowed prefix length for service CIDR is {MIN_IPV6_PREFIX}, got {}",
                c.prefix
            )));
        }
    }
    Ok(cidrs)
}

fn parse_ports(ports: &str) -> Result<RangeInclusive<u16>, ServiceRangesError> {
    let bad_ports = |reason: &str| ServiceRangesError::NodePorts {
        value: ports.to_owned(),
        reason: reason.to_owned(),
    };
    let (first, last) = ports
        .split_once('-')
        .ok_or_else(|| bad_ports("no '-' between the first and the last port"))?;
    let first: u16 = first
        .trim()
        .parse()
        .map_err(|_| bad_ports("the first port is not a number from 1 to 65535"))?;
    let last: u16 = last
        .trim()
        .parse()
        .map_err(|_| bad_ports("the last port is not a number from 1 to 65535"))?;
    if first == 0 || first > last {
        return Err(bad_ports("the range must be non-empty and start above 0"));
    }
    Ok(first..=last)
}

/// Why an address cannot be had.
#[derive(Debug, PartialEq, Eq)]
pub enum AllocError {
    /// Worded as kube's allocators word it.
    Rejected(String),
}

/// Who holds each service IP and node port.
#[derive(Debug, Default)]
pub struct Allocations {
    ranges: ServiceRanges,
    ips: HashMap<IpAddr, (String, String)>,
    /// The stored IPAddress objects: the Service their `parentRef` names, or no Service (an
    /// empty holder no Service has) for any other parent. kube's allocator allocates by creating
    /// them, so one a client made holds its address too.
    addresses: HashMap<IpAddr, (String, String)>,
    ports: HashMap<u16, (String, String)>,
}

/// The cluster IPs a stored Service holds, of either family.
pub fn cluster_ips(svc: &Value) -> Vec<IpAddr> {
    held(svc).0
}

/// The (namespace, name) of a Service object.
fn owner(svc: &Value) -> (String, String) {
    (
        crate::meta::meta_str(svc, "namespace").to_owned(),
        crate::meta::meta_str(svc, "name").to_owned(),
    )
}

/// The cluster IPs (of either family) and node ports a stored Service holds.
fn held(svc: &Value) -> (Vec<IpAddr>, Vec<u16>) {
    let spec = svc.get("spec");
    let ips = spec
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .collect();
    let mut ports: Vec<u16> = spec
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("nodePort").and_then(Value::as_u64))
        .filter_map(|p| u16::try_from(p).ok())
        .collect();
    if let Some(p) = spec
        .and_then(|s| s.get("healthCheckNodePort"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
    {
        ports.push(p);
    }
    (ips, ports)
}

impl Allocations {
    /// No address held, in `ranges`.
    pub fn new(ranges: ServiceRanges) -> Self {
        Self {
            ranges,
            ..Self::default()
        }
    }

    /// The configured ranges.
    pub fn ranges(&self) -> &ServiceRanges {
        &self.ranges
    }

    /// Records a committed change of a Service: `prev`'s addresses are released, `new`'s held.
    pub fn sync(&mut self, prev: Option<&Value>, new: Option<&Value>) {
        if let Some(prev) = prev {
            let who = owner(prev);
            let (ips, ports) = held(prev);
            for ip in ips {
                if self.ips.get(&ip) == Some(&who) {
                    self.ips.remove(&ip);
                }
            }
            for p in ports {
                if self.ports.get(&p) == Some(&who) {
                    self.ports.remove(&p);
                }
            }
        }
        if let Some(new) = new {
            let who = owner(new);
            let (ips, ports) = held(new);
            for ip in ips {
                self.ips.insert(ip, who.clone());
            }
            for p in ports {
                self.ports.insert(p, who.clone());
            }
        }
    }

    /// Records a committed change of an IPAddress object (see `addresses`).
    pub fn sync_address(&mut self, prev: Option<&Value>, new: Option<&Value>) {
        let ip = |obj: &Value| crate::meta::meta_str(obj, "name").parse::<IpAddr>().ok();
        if let Some(ip) = prev.and_then(ip) {
            self.addresses.remove(&ip);
        }
        if let Some(obj) = new
            && let Some(ip) = ip(obj)
        {
            let parent = obj.pointer("/spec/parentRef");
            let field = |f: &str| {
                parent
                    .and_then(|p| p.get(f))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let holder = if field("group").is_empty() && field("resource") == "services" {
                (field("namespace"), field("name"))
            } else {
                (String::new(), String::new())
            };
            self.addresses.insert(ip, holder);
        }
    }

    /// Whether `ip` is held by another than `who`, as a Service's address or an IPAddress.
    fn taken(&self, ip: &IpAddr, who: &(String, String)) -> bool {
        [&self.ips, &self.addresses]
            .iter()
            .any(|held| held.get(ip).is_some_and(|holder| holder != who))
    }

    /// Checks that `ip` may be held by `who`: within the configured range of its family, not
    /// that range's network (or IPv4 broadcast) address, and free or already theirs. Worded as
    /// kube 1.37's allocators: the ServiceCIDR allocator (`MetaAllocator`) answers an address
    /// outside every range with `ErrMismatchedNetwork`, a range's own allocator one at its edges
    /// with `ErrNotInRange`.
    pub fn check_ip(&self, ip: &str, who: &(String, String)) -> Result<(), AllocError> {
        let parsed: IpAddr = ip.parse().map_err(|_| {
            AllocError::Rejected(
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into(),
            )
        })?;
        let (family, n) = number(parsed);
        let Some(cidr) = self.ranges.cidr_of(family).filter(|c| c.contains(n)) else {
            return Err(AllocError::Rejected(format!(
                "failed to allocate IP {ip}: the provided network does not match the current range"
            )));
        };
        if !cidr.usable().is_some_and(|r| r.contains(&n)) {
            return Err(AllocError::Rejected(format!(
                "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}"
            )));
        }
        if self.taken(&parsed, who) {
            return Err(AllocError::Rejected(format!(
                "failed to allocate IP {ip}: provided IP is already allocated"
            )));
        }
        Ok(())
    }

    /// A free IP of `family`'s range, preferring the upper band as kube's allocator does (the
    /// lowest addresses are kept for Services that ask for a fixed IP). None when the range is
    /// full or `family` has none. `seed` fixes where the search starts (see `Ctx::seed`).
    pub fn pick_ip(&self, family: Family, seed: Option<u64>) -> Option<String> {
        let cidr = self.ranges.cidr_of(family)?;
        let usable = cidr.usable()?;
        let first = *usable.start();
        // The number of usable addresses less one, so that a /64's 2^64 - 1 fits.
        let span = usable.end() - first;
        // kube's calculateRangeOffset: ranges of more than 16 addresses keep
        // min(max(16, size/16), 256) addresses at the bottom for static allocation.
        let total = cidr.total();
        let band = if total <= 16 {
            0
        } else {
            (total / 16).clamp(16, 256).min(span)
        };
        let free = |offset: u128| {
            let ip = cidr.address(first + offset);
            !self.ips.contains_key(&ip) && !self.addresses.contains_key(&ip)
        };
        // Offsets lo..=hi, from a start within them, wrapping.
        let pick = |lo: u128, hi: u128| -> Option<u128> {
            if lo > hi {
                return None;
            }
            let start = lo + start_offset(seed, hi - lo);
            (start..=hi).chain(lo..start).find(|o| free(*o))
        };
        let upper = pick(band, span);
        let found = match band {
            0 => upper,
            _ => upper.or_else(|| pick(0, band - 1)),
        };
        found.map(|o| cidr.address(first + o).to_string())
    }

    /// Checks that node port `port` may be held by `who`.
    pub fn check_port(&self, port: i64, who: &(String, String)) -> Result<(), AllocError> {
        let in_range = u16::try_from(port)
            .ok()
            .filter(|p| self.ranges.node_ports.contains(p));
        let Some(p) = in_range else {
            return Err(AllocError::Rejected(format!(
                "provided port is not in the valid range. The range of valid ports is {}",
                self.ranges.port_range()
            )));
        };
        match self.ports.get(&p) {
            Some(holder) if holder != who => Err(AllocError::Rejected(
                "provided port is already allocated".into(),
            )),
            _ => Ok(()),
        }
    }

    /// A free node port that is not in `also_taken` (ports this write already picked).
    pub fn pick_port(&self, also_taken: &[u16], seed: Option<u64>) -> Option<u16> {
        let (first, last) = (
            *self.ranges.node_ports.start(),
            *self.ranges.node_ports.end(),
        );
        let size = u32::from(last - first) + 1;
        // kube: min(max(16, size/32), 128) ports at the bottom are the static band.
        let band = (size / 32).clamp(16, 128).min(size);
        let free = |o: u32| {
            let p = first + o as u16;
            !self.ports.contains_key(&p) && !also_taken.contains(&p)
        };
        let pick = |lo: u32, hi: u32| -> Option<u32> {
            if lo >= hi {
                return None;
            }
            let start = lo + start_offset(seed, u128::from(hi - lo - 1)) as u32;
            (start..hi).chain(lo..start).find(|o| free(*o))
        };
        pick(band, size)
            .or_else(|| pick(0, band))
            .map(|o| first + o as u16)
    }
}

/// Where a search among the offsets `0..=max` starts: random, or fixed by `seed`.
fn start_offset(seed: Option<u64>, max: u128) -> u128 {
    match (seed, max.checked_add(1)) {
        (Some(seed), Some(n)) => u128::from(seed) % n,
        (Some(seed), None) => u128::from(seed),
        (None, _) => rand::random_range(0..=max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn who(name: &str) -> (String, String) {
        ("default".into(), name.into())
    }

    fn reason(cidrs: &str) -> String {
        match ServiceRanges::parse(cidrs, DEFAULT_NODE_PORT_RANGE) {
            Err(ServiceRangesError::Cidr { reason, .. }) => reason,
            other => panic!("{cidrs}: {other:?}"),
        }
    }

    #[test]
    fn ranges_parse_and_refuse_nonsense() {
        let r = ServiceRanges::default();
        assert_eq!(r.first_ip(), "10.96.0.1");
        assert_eq!(r.cidrs()[0].to_string(), "10.96.0.0/12");
        assert!(!r.dual_stack());
        // Host bits are masked, as Go's ParseCIDR does.
        let r = ServiceRanges::parse("10.0.0.7/29,fd00::1/120", "30000-32767").unwrap();
        assert_eq!(r.cidrs()[0].to_string(), "10.0.0.0/29");
        assert_eq!(r.cidrs()[1].to_string(), "fd00::/120");
        assert!(r.dual_stack() && r.has(Family::V6));
        let r = ServiceRanges::parse("fd00:10:96::/112", "30000-32767").unwrap();
        assert_eq!(r.first_ip(), "fd00:10:96::1");
        assert_eq!(r.primary_family(), Family::V6);
        assert_eq!(
            ServiceRanges::parse("", "30000-32767").unwrap(),
            ServiceRanges::default()
        );
        assert_eq!(
            reason("10.0.0.0"),
            "service-cluster-ip-range[0] is not a valid cidr"
        );
        assert_eq!(
            reason("10.0.0.0/33"),
            "service-cluster-ip-range[0] is not a valid cidr"
        );
        assert_eq!(
            reason("10.0.0.0/+8"),
            "service-cluster-ip-range[0] is not a valid cidr"
        );
        assert_eq!(
            reason("10.0.0.0/24,x"),
            "service-cluster-ip-range[1] is not an ip net"
        );
        assert!(reason("10.0.0.0/30").ends_with("must be at least 8 IP addresses"));
        assert!(reason("fd00::/126").ends_with("must be at least 8 IP addresses"));
        assert_eq!(
            reason("10.0.0.0/24,fd00::/120,10.1.0.0/24"),
            "--service-cluster-ip-range must not contain more than two entries"
        );
        assert_eq!(
            reason("10.0.0.0/24,10.1.0.0/24"),
            "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family"
        );
        assert_eq!(
            reason("10.0.0.0/24,fd00::/48"),
            "fd00::/48: shortest allowed prefix length for service CIDR is 64, got 48"
        );
        assert!(ServiceRanges::parse("10.0.0.0/24", "32767-30000").is_err());
        let e = ServiceRanges::parse("10.0.0.0/24", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid node port range \"x\""), "{e}");
    }

    #[test]
    fn ips_are_checked_and_released() {
        let mut a = Allocations::new(ServiceRanges::parse("10.0.0.0/29", "30000-30001").unwrap());
        let svc = json!({"metadata": {"namespace": "default", "name": "a"},
                         "spec": {"clusterIPs": ["10.0.0.2"], "ports": [{"nodePort": 30000}]}});
        a.sync(None, Some(&svc));
        assert_eq!(a.check_ip("10.0.0.2", &who("a")), Ok(()));
        assert!(
            matches!(a.check_ip("10.0.0.2", &who("b")), Err(AllocError::Rejected(m)) if m.ends_with("provided IP is already allocated"))
        );
        assert!(
            matches!(a.check_ip("10.0.0.9", &who("b")), Err(AllocError::Rejected(m)) if m.ends_with("the provided network does not match the current range"))
        );
        for edge in ["10.0.0.0", "10.0.0.7"] {
            assert!(
                matches!(a.check_ip(edge, &who("b")), Err(AllocError::Rejected(m)) if m.ends_with("is not in the valid range. The range of valid IPs is 10.0.0.0/29")),
                "{edge}: the network and broadcast addresses"
            );
        }
        assert!(a.check_port(30000, &who("b")).is_err());
        assert!(a.check_port(30002, &who("b")).is_err());
        assert_eq!(a.pick_port(&[], None), Some(30001));
        assert_eq!(a.pick_port(&[30001], None), None);
        // /29: six usable addresses, one held.
        let mut picked = std::collections::HashSet::new();
        for _ in 0..50 {
            picked.insert(a.pick_ip(Family::V4, None).unwrap());
        }
        assert!(!picked.contains("10.0.0.2") && picked.len() <= 5);
        assert_eq!(a.pick_ip(Family::V6, None), None, "no IPv6 range");
        a.sync(Some(&svc), None);
        assert_eq!(a.check_ip("10.0.0.2", &who("b")), Ok(()));
        assert_eq!(a.check_port(30000, &who("b")), Ok(()));
    }

    #[test]
    fn ipv6_ranges_hand_out_all_but_the_network_address() {
        // /125: eight addresses, the network address excluded, the last one included.
        let mut a = Allocations::new(ServiceRanges::parse("fd00::/125", "30000-30001").unwrap());
        assert!(a.check_ip("fd00::", &who("a")).is_err());
        assert_eq!(a.check_ip("fd00::7", &who("a")), Ok(()));
        let mut picked = std::collections::BTreeSet::new();
        for seed in 0..7 {
            let ip = a.pick_ip(Family::V6, Some(seed)).unwrap();
            let svc = json!({"metadata": {"namespace": "default", "name": ip},
                             "spec": {"clusterIPs": [ip]}});
            a.sync(None, Some(&svc));
            picked.insert(ip);
        }
        assert_eq!(picked.len(), 7);
        assert!(picked.contains("fd00::7") && !picked.contains("fd00::"));
        assert_eq!(a.pick_ip(Family::V6, None), None, "full");
        // A /64 needs the full u128 arithmetic: 2^64 - 1 usable addresses.
        let a = Allocations::new(ServiceRanges::parse("fd00:1::/64", "30000-30001").unwrap());
        let ip: Ipv6Addr = a
            .pick_ip(Family::V6, Some(u64::MAX))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(u128::from(ip) >> 64, 0xfd00_0001_0000_0000);
        assert_eq!(a.check_ip("fd00:1::ffff:ffff:ffff:ffff", &who("a")), Ok(()));
    }
}
