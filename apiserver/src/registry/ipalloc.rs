//! Service cluster IPs and node ports: the configured ranges and who holds which address,
//! kept in step with the stored Services (recorded when a write commits, released when the
//! Service is removed).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use serde_json::Value;

/// kube-apiserver's default `--service-cluster-ip-range` in kind, kubeadm and minikube.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// kube-apiserver's default `--service-node-port-range`.
pub const DEFAULT_NODE_PORT_RANGE: &str = "30000-32767";

/// A malformed service range.
#[derive(Debug, thiserror::Error)]
pub enum ServiceRangesError {
    /// The service CIDR does not parse or is too small.
    #[error(
        "invalid service CIDR {value:?}: {reason}; give an IPv4 CIDR such as {DEFAULT_SERVICE_CIDR}"
    )]
    Cidr { value: String, reason: String },
    /// The node port range does not parse.
    #[error(
        "invalid node port range {value:?}: {reason}; give FIRST-LAST such as {DEFAULT_NODE_PORT_RANGE}"
    )]
    NodePorts { value: String, reason: String },
}

/// The service IP range and node port range of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRanges {
    network: u32,
    prefix: u8,
    node_ports: RangeInclusive<u16>,
}

impl Default for ServiceRanges {
    fn default() -> Self {
        Self::parse(DEFAULT_SERVICE_CIDR, DEFAULT_NODE_PORT_RANGE)
            .expect("the default service ranges parse")
    }
}

impl ServiceRanges {
    /// Parses `cidr` (IPv4, at most /30: two usable addresses) and `ports` (`FIRST-LAST`).
    pub fn parse(cidr: &str, ports: &str) -> Result<Self, ServiceRangesError> {
        let bad_cidr = |reason: &str| ServiceRangesError::Cidr {
            value: cidr.to_owned(),
            reason: reason.to_owned(),
        };
        let (addr, prefix) = cidr
            .split_once('/')
            .ok_or_else(|| bad_cidr("no /prefix length"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| bad_cidr("not an IPv4 address (IPv6 service ranges are not supported)"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 30)
            .ok_or_else(|| bad_cidr("the prefix length must be a number from 0 to 30"))?;
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
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
        Ok(Self {
            network: u32::from(addr) & mask,
            prefix,
            node_ports: first..=last,
        })
    }

    /// Usable addresses: the network and broadcast addresses are never handed out.
    fn size(&self) -> u32 {
        ((1u64 << (32 - self.prefix)) - 2) as u32
    }

    /// The first usable address, which the `default/kubernetes` Service holds.
    pub fn first_ip(&self) -> String {
        Ipv4Addr::from(self.network + 1).to_string()
    }

    fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }

    fn contains(&self, ip: u32) -> bool {
        ip > self.network && ip - self.network <= self.size()
    }

    fn port_range(&self) -> String {
        format!("{}-{}", self.node_ports.start(), self.node_ports.end())
    }
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
    ips: HashMap<u32, (String, String)>,
    ports: HashMap<u16, (String, String)>,
}

/// The (namespace, name) of a Service object.
fn owner(svc: &Value) -> (String, String) {
    (
        crate::meta::meta_str(svc, "namespace").to_owned(),
        crate::meta::meta_str(svc, "name").to_owned(),
    )
}

/// The cluster IPs and node ports a stored Service holds.
fn held(svc: &Value) -> (Vec<u32>, Vec<u16>) {
    let spec = svc.get("spec");
    let ips = spec
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|ip| ip.parse::<Ipv4Addr>().ok())
        .map(u32::from)
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

    /// Checks that `ip` may be held by `who` (in range, free or already theirs).
    pub fn check_ip(&self, ip: &str, who: &(String, String)) -> Result<(), AllocError> {
        let parsed: Ipv4Addr = ip.parse().map_err(|_| {
            AllocError::Rejected(
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into(),
            )
        })?;
        let n = u32::from(parsed);
        if !self.ranges.contains(n) {
            return Err(AllocError::Rejected(format!(
                "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                self.ranges.cidr()
            )));
        }
        match self.ips.get(&n) {
            Some(holder) if holder != who => Err(AllocError::Rejected(format!(
                "failed to allocate IP {ip}: provided IP is already allocated"
            ))),
            _ => Ok(()),
        }
    }

    /// A free IP, preferring the upper band as kube's allocator does (the lowest addresses are
    /// kept for Services that ask for a fixed IP).
    /// `seed` fixes where the search starts (see `Ctx::seed`).
    pub fn pick_ip(&self, seed: Option<u64>) -> Option<String> {
        let size = self.ranges.size();
        // kube: min(max(16, size/16), 256) addresses at the bottom are the static band.
        let band = (size / 16).clamp(16, 256).min(size);
        let free = |offset: u32| !self.ips.contains_key(&(self.ranges.network + 1 + offset));
        let pick = |lo: u32, hi: u32| -> Option<u32> {
            if lo >= hi {
                return None;
            }
            let start = lo + start_offset(seed, hi - lo);
            (start..hi).chain(lo..start).find(|o| free(*o))
        };
        pick(band, size)
            .or_else(|| pick(0, band))
            .map(|o| Ipv4Addr::from(self.ranges.network + 1 + o).to_string())
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
            let start = lo + start_offset(seed, hi - lo);
            (start..hi).chain(lo..start).find(|o| free(*o))
        };
        pick(band, size)
            .or_else(|| pick(0, band))
            .map(|o| first + o as u16)
    }
}

/// Where a search for a free address among `n` starts: random, or fixed by `seed`.
fn start_offset(seed: Option<u64>, n: u32) -> u32 {
    match seed {
        Some(seed) => u32::try_from(seed % u64::from(n)).unwrap_or(0),
        None => rand::random_range(0..n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn who(name: &str) -> (String, String) {
        ("default".into(), name.into())
    }

    #[test]
    fn ranges_parse_and_refuse_nonsense() {
        let r = ServiceRanges::default();
        assert_eq!(r.first_ip(), "10.96.0.1");
        assert_eq!(r.cidr(), "10.96.0.0/12");
        assert!(ServiceRanges::parse("10.0.0.0", "30000-32767").is_err());
        assert!(ServiceRanges::parse("fd00::/108", "30000-32767").is_err());
        assert!(ServiceRanges::parse("10.0.0.0/31", "30000-32767").is_err());
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
            matches!(a.check_ip("10.0.0.7", &who("b")), Err(AllocError::Rejected(m)) if m.contains("not in the valid range. The range of valid IPs is 10.0.0.0/29"))
        );
        assert!(
            a.check_ip("10.0.0.0", &who("b")).is_err(),
            "the network address"
        );
        assert!(a.check_port(30000, &who("b")).is_err());
        assert!(a.check_port(30002, &who("b")).is_err());
        assert_eq!(a.pick_port(&[], None), Some(30001));
        assert_eq!(a.pick_port(&[30001], None), None);
        // /29: six usable addresses, one held.
        let mut picked = std::collections::HashSet::new();
        for _ in 0..50 {
            picked.insert(a.pick_ip(None).unwrap());
        }
        assert!(!picked.contains("10.0.0.2") && picked.len() <= 5);
        a.sync(Some(&svc), None);
        assert_eq!(a.check_ip("10.0.0.2", &who("b")), Ok(()));
        assert_eq!(a.check_port(30000, &who("b")), Ok(()));
    }
}
