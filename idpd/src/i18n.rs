//! User-facing text of the login pages and mails, in English and Norwegian Bokmål.
//! The language is the first of the request's `ui_locales` we have, else the first of the
//! tenant's locales we have, else English.

#[derive(Debug)]
pub struct Texts {
    pub lang: &'static str,
    pub sign_in_to: &'static str,
    pub email_label: &'static str,
    pub send_code: &'static str,
    pub code_sent: &'static str,
    pub code_label: &'static str,
    pub verify: &'static str,
    pub wrong_code: &'static str,
    pub too_many: &'static str,
    pub use_the_link: &'static str,
    pub error_title: &'static str,
    pub mail_subject: &'static str,
    pub mail_body: &'static str,
    pub signed_out: &'static str,
    pub sign_out_question: &'static str,
    pub sign_out: &'static str,
    pub invalid_email: &'static str,
    pub device_title: &'static str,
    pub device_code_label: &'static str,
    pub device_continue: &'static str,
    pub device_confirm: &'static str,
    pub device_scopes: &'static str,
    pub device_approve: &'static str,
    pub device_deny: &'static str,
    pub device_approved: &'static str,
    pub device_denied: &'static str,
    pub device_invalid_code: &'static str,
    /// Sign-in through an external provider ({provider}) failed, by cause.
    pub upstream_denied: &'static str,
    pub upstream_expired: &'static str,
    pub upstream_account: &'static str,
    pub upstream_failed: &'static str,
}

pub const EN: Texts = Texts {
    lang: "en",
    sign_in_to: "Sign in to",
    email_label: "Email address",
    send_code: "Send me a code",
    code_sent: "If this address can sign in, we sent a code to it. It is valid for 10 minutes.",
    code_label: "One-time code",
    verify: "Sign in",
    wrong_code: "That code is not valid. Check the newest mail, or ask for a new code.",
    too_many: "Too many attempts. Wait a little and try again.",
    use_the_link: "Too many codes were tried for this address today. Use the sign-in link in the newest mail instead.",
    error_title: "Sign-in cannot continue",
    mail_subject: "Your sign-in code for {tenant}",
    mail_body: "Your code for {tenant} is {code}\n\nOr open this link in the same browser:\n{link}\n\nThe code is valid for 10 minutes. If you did not try to sign in, ignore this mail.\n",
    signed_out: "You are signed out.",
    sign_out_question: "Sign out of {tenant}?",
    sign_out: "Sign out",
    invalid_email: "Enter a valid email address.",
    device_title: "Connect a device",
    device_code_label: "Code shown on the device",
    device_continue: "Continue",
    device_confirm: "{client} wants to access your account.",
    device_scopes: "It asks for:",
    device_approve: "Approve",
    device_deny: "Deny",
    device_approved: "Done. Return to your device.",
    device_denied: "The request was denied.",
    device_invalid_code: "That code is not valid or has expired. Check the code on the device.",
    upstream_denied: "Sign-in at {provider} was cancelled or refused. Go back to the application to try again.",
    upstream_expired: "This sign-in has expired or belongs to another browser or provider. Go back to the application and start again.",
    upstream_account: "Your {provider} account cannot be used to sign in here. Contact your administrator.",
    upstream_failed: "Sign-in through {provider} failed. Try again later, or contact your administrator.",
};

pub const NB: Texts = Texts {
    lang: "nb",
    sign_in_to: "Logg inn på",
    email_label: "E-postadresse",
    send_code: "Send meg en kode",
    code_sent: "Hvis denne adressen kan logge inn, har vi sendt en kode til den. Den gjelder i 10 minutter.",
    code_label: "Engangskode",
    verify: "Logg inn",
    wrong_code: "Koden er ikke gyldig. Sjekk den nyeste e-posten, eller be om en ny kode.",
    too_many: "For mange forsøk. Vent litt og prøv igjen.",
    use_the_link: "For mange koder er prøvd for denne adressen i dag. Bruk innloggingslenken i den nyeste e-posten i stedet.",
    error_title: "Innloggingen kan ikke fortsette",
    mail_subject: "Din innloggingskode for {tenant}",
    mail_body: "Koden din for {tenant} er {code}\n\nEller åpne denne lenken i samme nettleser:\n{link}\n\nKoden gjelder i 10 minutter. Hvis du ikke prøvde å logge inn, kan du se bort fra denne e-posten.\n",
    signed_out: "Du er logget ut.",
    sign_out_question: "Logge ut av {tenant}?",
    sign_out: "Logg ut",
    invalid_email: "Skriv inn en gyldig e-postadresse.",
    device_title: "Koble til en enhet",
    device_code_label: "Koden som vises på enheten",
    device_continue: "Fortsett",
    device_confirm: "{client} ber om tilgang til kontoen din.",
    device_scopes: "Den ber om:",
    device_approve: "Godkjenn",
    device_deny: "Avslå",
    device_approved: "Ferdig. Gå tilbake til enheten.",
    device_denied: "Forespørselen ble avslått.",
    device_invalid_code: "Koden er ikke gyldig eller har utløpt. Sjekk koden på enheten.",
    upstream_denied: "Innloggingen hos {provider} ble avbrutt eller avvist. Gå tilbake til applikasjonen for å prøve igjen.",
    upstream_expired: "Denne innloggingen er utløpt eller hører til en annen nettleser eller leverandør. Gå tilbake til applikasjonen og start på nytt.",
    upstream_account: "{provider}-kontoen din kan ikke brukes til å logge inn her. Kontakt administratoren din.",
    upstream_failed: "Innlogging via {provider} mislyktes. Prøv igjen senere, eller kontakt administratoren din.",
};

/// Picks the texts for the first supported tag of `ui_locales`, then of `tenant_locales`.
pub fn pick<'a>(
    ui_locales: impl IntoIterator<Item = &'a str>,
    tenant_locales: &[String],
) -> &'static Texts {
    let supported = |tag: &str| -> Option<&'static Texts> {
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(&EN),
            // Bokmål, and "no" (Norwegian) which browsers often send for it.
            "nb" | "no" => Some(&NB),
            _ => None,
        }
    };
    ui_locales
        .into_iter()
        .find_map(supported)
        .or_else(|| tenant_locales.iter().find_map(|t| supported(t)))
        .unwrap_or(&EN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_ui_locales_then_tenant() {
        assert_eq!(pick(["nb"], &["en".into()]).lang, "nb");
        assert_eq!(pick(["de", "nb-NO"], &["en".into()]).lang, "nb");
        assert_eq!(pick(["de"], &["nb".into(), "en".into()]).lang, "nb");
        assert_eq!(pick(Vec::<&str>::new(), &["fr".into()]).lang, "en");
    }
}
