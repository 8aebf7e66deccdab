//! HOWTO steps 8 and 9 (restart, EHLO test) act on the running server. They are listed so the
//! plan shows the whole HOWTO, and report `skipped` until the live steps are built.

use crate::engine::step::{Context, Step, StepReport, View};

pub struct Restart;
pub struct Ehlo;

impl Step for Restart {
    fn id(&self) -> &'static str {
        "restart"
    }
    fn title(&self) -> &'static str {
        "Restart sendmail"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 8: service sendmail restart"
    }
    fn check(&self, cx: &Context, _view: &View) -> StepReport {
        let mut r = StepReport::new(self);
        let name = cx
            .profile
            .as_ref()
            .map(|p| p.service.name.as_str())
            .unwrap_or("sendmail");
        r.skip(format!(
            "not built yet: restart sendmail yourself after apply (`service {name} restart`)"
        ));
        r.finish()
    }
}

impl Step for Ehlo {
    fn id(&self) -> &'static str {
        "ehlo"
    }
    fn title(&self) -> &'static str {
        "Test EHLO and AUTH"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 9: telnet mailsrv 25, ehlo localhost, look for 250-AUTH"
    }
    fn check(&self, _cx: &Context, _view: &View) -> StepReport {
        let mut r = StepReport::new(self);
        r.skip("not built yet: test with `swaks --server HOST --auth-user USER` or `telnet HOST 25` and `ehlo localhost`");
        r.finish()
    }
}
