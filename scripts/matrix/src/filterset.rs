//! Evaluates the part of nextest's filterset language that `.config/nextest.toml` overrides use,
//! so that the soak compares each test with the slow-timeout nextest really gave it: the
//! predicates `package()`, `binary()`, `binary_id()`, `test()`, `all()` and `none()`, with
//! nextest's default matchers (glob for package and binary names, contains for test names) and
//! the `=` (exact), `~` (contains) and `#` (glob) prefixes; the operators `&`/`and`, `|`/`or`/`+`,
//! `-` (difference), `not`/`!` and parentheses.
//!
//! Anything else (regular expressions, `kind()`, `platform()`, `deps()`, `rdeps()`) makes the
//! filter [`Unsupported`]: the caller then says that it could not tell, instead of guessing.

/// The `[[profile.<profile>.overrides]]` tables of a parsed `.config/nextest.toml`, in order
/// (nextest applies the first that selects a test); none when the profile has none.
pub fn profile_overrides<'a>(
    doc: &'a toml_edit::DocumentMut,
    profile: &str,
) -> impl Iterator<Item = &'a toml_edit::Table> {
    doc.get("profile")
        .and_then(|p| p.get(profile))
        .and_then(|p| p.get("overrides"))
        .and_then(|o| o.as_array_of_tables())
        .into_iter()
        .flat_map(|tables| tables.iter())
}

/// What a filter is evaluated against: one test of one binary.
#[derive(Clone, Copy, Debug)]
pub struct TestId<'a> {
    /// The package, e.g. `apiserver`.
    pub package: &'a str,
    /// The binary's name: an integration test's file name, the crate name of a library's tests.
    pub binary: &'a str,
    /// nextest's binary id, e.g. `apiserver::patch_prop`.
    pub binary_id: &'a str,
    /// The test's name.
    pub test: &'a str,
}

impl<'a> TestId<'a> {
    /// A test of nextest's binary id `suite` (`package` or `package::binary`) named `test`.
    pub fn from_suite(suite: &'a str, test: &'a str) -> TestId<'a> {
        let (package, binary) = match suite.split_once("::") {
            Some((package, binary)) => (package, binary.rsplit('/').next().unwrap_or(binary)),
            // A library's unit tests: the binary is the crate, named as rustc names it.
            None => (suite, suite),
        };
        TestId {
            package,
            binary,
            binary_id: suite,
            test,
        }
    }
}

/// A filter this evaluator cannot decide, with the construct it does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

#[derive(Clone, Debug, PartialEq)]
enum Matcher {
    Exact(String),
    Contains(String),
    Glob(String),
}

impl Matcher {
    fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Exact(s) => text == s,
            Matcher::Contains(s) => text.contains(s.as_str()),
            Matcher::Glob(g) => glob(g.as_bytes(), text.as_bytes()),
        }
    }
}

/// `*` any run of characters, `?` one character, everything else itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    All,
    None,
    Package(Matcher),
    Binary(Matcher),
    BinaryId(Matcher),
    Test(Matcher),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn eval(&self, t: &TestId<'_>) -> bool {
        match self {
            Expr::All => true,
            Expr::None => false,
            Expr::Package(m) => m.matches(t.package),
            Expr::Binary(m) => m.matches(t.binary),
            Expr::BinaryId(m) => m.matches(t.binary_id),
            Expr::Test(m) => m.matches(t.test),
            Expr::Not(e) => !e.eval(t),
            Expr::And(a, b) => a.eval(t) && b.eval(t),
            Expr::Or(a, b) => a.eval(t) || b.eval(t),
        }
    }
}

/// A parsed filterset.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter(Expr);

impl Filter {
    /// Parses `text`, or says which construct is not supported.
    pub fn parse(text: &str) -> Result<Filter, Unsupported> {
        let mut p = Parser { s: text, pos: 0 };
        let e = p.or()?;
        p.ws();
        if p.pos != p.s.len() {
            return Err(Unsupported(format!(
                "{:?} after the expression",
                &p.s[p.pos..]
            )));
        }
        Ok(Filter(e))
    }

    /// Whether the filter selects the test.
    pub fn matches(&self, t: &TestId<'_>) -> bool {
        self.0.eval(t)
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.rest().starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    /// Consumes `op` (a symbol, or a word followed by a non-identifier character).
    fn eat(&mut self, op: &str) -> bool {
        self.ws();
        let rest = self.rest();
        if !rest.starts_with(op) {
            return false;
        }
        let word = op.chars().all(|c| c.is_ascii_alphabetic());
        if word
            && rest[op.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(')
        {
            return false;
        }
        self.pos += op.len();
        true
    }

    fn or(&mut self) -> Result<Expr, Unsupported> {
        let mut e = self.and()?;
        loop {
            if self.eat("|") || self.eat("+") || self.eat("or") {
                e = Expr::Or(Box::new(e), Box::new(self.and()?));
            } else {
                return Ok(e);
            }
        }
    }

    fn and(&mut self) -> Result<Expr, Unsupported> {
        let mut e = self.unary()?;
        loop {
            if self.eat("&") || self.eat("and") {
                e = Expr::And(Box::new(e), Box::new(self.unary()?));
            } else if self.eat("-") {
                let right = self.unary()?;
                e = Expr::And(Box::new(e), Box::new(Expr::Not(Box::new(right))));
            } else {
                return Ok(e);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, Unsupported> {
        if self.eat("!") || self.eat("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            if !self.eat(")") {
                return Err(Unsupported("an unclosed parenthesis".into()));
            }
            return Ok(e);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, Unsupported> {
        self.ws();
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let name = self.rest()[..name_len].to_owned();
        self.pos += name_len;
        if !self.eat("(") {
            return Err(Unsupported(format!("{name:?} is not a predicate call")));
        }
        let close = self
            .rest()
            .find(')')
            .ok_or_else(|| Unsupported(format!("{name}( is never closed")))?;
        let arg = self.rest()[..close].trim().to_owned();
        self.pos += close + 1;
        let default_glob = |arg: &str| matcher(arg, true);
        Ok(match name.as_str() {
            "all" if arg.is_empty() => Expr::All,
            "none" if arg.is_empty() => Expr::None,
            "package" => Expr::Package(default_glob(&arg)?),
            "binary" => Expr::Binary(default_glob(&arg)?),
            "binary_id" => Expr::BinaryId(default_glob(&arg)?),
            "test" => Expr::Test(matcher(&arg, false)?),
            other => return Err(Unsupported(format!("the predicate {other}()"))),
        })
    }
}

/// The matcher of a predicate's argument; `glob` is the predicate's default.
fn matcher(arg: &str, glob: bool) -> Result<Matcher, Unsupported> {
    if let Some(s) = arg.strip_prefix('=') {
        Ok(Matcher::Exact(s.to_owned()))
    } else if let Some(s) = arg.strip_prefix('~') {
        Ok(Matcher::Contains(s.to_owned()))
    } else if let Some(s) = arg.strip_prefix('#') {
        Ok(Matcher::Glob(s.to_owned()))
    } else if arg.starts_with('/') {
        Err(Unsupported(format!("the regular expression {arg}")))
    } else if glob {
        Ok(Matcher::Glob(arg.to_owned()))
    } else {
        Ok(Matcher::Contains(arg.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<'a>(suite: &'a str, test: &'a str) -> TestId<'a> {
        TestId::from_suite(suite, test)
    }

    #[test]
    fn the_workspaces_override_forms_select_what_nextest_selects() {
        let f = Filter::parse(
            "package(apiserver) & (binary(patch_prop) | binary(robustness_prop) | binary(watch_replay_prop))",
        )
        .unwrap();
        assert!(f.matches(&t("apiserver::patch_prop", "arbitrary_patches")));
        assert!(f.matches(&t("apiserver::watch_replay_prop", "x")));
        assert!(!f.matches(&t("apiserver::kubectl", "x")));
        assert!(!f.matches(&t("fixtures::patch_prop", "x")));
        let f = Filter::parse("package(cluster-bootstrap) & binary(kill_nextest)").unwrap();
        assert!(f.matches(&t("cluster-bootstrap::kill_nextest", "kill_9")));
        let f = Filter::parse("test(kill_9) and not binary_id(=ds-bootstrap::bootstrap)").unwrap();
        assert!(f.matches(&t("cluster-bootstrap::kill_nextest", "kill_9_of")));
        assert!(!f.matches(&t("ds-bootstrap::bootstrap", "kill_9_of")));
        // A library's unit tests: the binary is named after the package.
        assert!(
            Filter::parse("binary(matrix)")
                .unwrap()
                .matches(&t("matrix", "x"))
        );
        assert!(
            Filter::parse("package(data*) - test(=a)")
                .unwrap()
                .matches(&t("datastorage::api", "b"))
        );
        assert!(
            !Filter::parse("package(data*) - test(=a)")
                .unwrap()
                .matches(&t("datastorage::api", "a"))
        );
        assert!(Filter::parse("all()").unwrap().matches(&t("x", "y")));
        assert!(!Filter::parse("!all()").unwrap().matches(&t("x", "y")));
    }

    #[test]
    fn what_it_cannot_evaluate_is_named() {
        for (text, what) in [
            ("test(/^a.*$/)", "regular expression"),
            ("kind(lib)", "kind()"),
            ("package(a) &", "predicate call"),
            ("(package(a)", "unclosed"),
            ("package(a) package(b)", "after the expression"),
        ] {
            let err = Filter::parse(text).unwrap_err();
            assert!(err.0.contains(what), "{text}: {err:?}");
        }
    }
}
