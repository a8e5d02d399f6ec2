//! The few words the app itself shows (the tray menu, notifications), in the system's language.

pub struct Texts {
    pub product: &'static str,
    pub open: &'static str,
    pub change_server: &'static str,
    pub start_at_login: &'static str,
    pub quit: &'static str,
    /// `{n}` is the count.
    pub unread: &'static str,
    pub open_conversation: &'static str,
}

const EN: Texts = Texts {
    product: "Kefu",
    open: "Open Kefu",
    change_server: "Another server…",
    start_at_login: "Start at login",
    quit: "Quit Kefu",
    unread: "Kefu — {n} unread",
    open_conversation: "Open",
};

const ZH: Texts = Texts {
    product: "Kefu 客服",
    open: "打开 Kefu",
    change_server: "更换服务器…",
    start_at_login: "开机时启动",
    quit: "退出 Kefu",
    unread: "Kefu — {n} 条未读",
    open_conversation: "打开",
};

impl Texts {
    /// Chinese when the system speaks it (LANG, LC_ALL or LC_MESSAGES starting with zh).
    pub fn of_system() -> &'static Texts {
        let chinese = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty())
            .is_some_and(|value| value.to_lowercase().starts_with("zh"));
        if chinese { &ZH } else { &EN }
    }
}
