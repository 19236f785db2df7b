//! The 26 taxonomy types plus named custom rules.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// What a finding is. The 26 built-in variants are the taxonomy names of
/// `testdata/pii/TAXONOMY.md` (12 PII, 14 secrets); `Custom` names a rule from
/// [`crate::ScanConfig::custom_rules`] whose `kind` is not a taxonomy name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Email,
    Phone,
    Person,
    StreetAddress,
    DateOfBirth,
    UsSsn,
    NationalId,
    CreditCard,
    Iban,
    IpAddress,
    MacAddress,
    CryptoWallet,
    AwsAccessKeyId,
    AwsSecretAccessKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    OpenaiApiKey,
    AnthropicApiKey,
    GoogleApiKey,
    Jwt,
    PrivateKey,
    VendorApiKey,
    Password,
    GenericSecret,
    /// A custom rule's type: its name (as given in the config) and whether it is a secret.
    Custom(CustomKind),
}

/// The name of a custom rule type and whether its matches count as secrets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomKind {
    pub name: Arc<str>,
    pub secret: bool,
}

/// Every built-in kind, PII first, in taxonomy order.
pub const BUILTIN: [Kind; 26] = [
    Kind::Email,
    Kind::Phone,
    Kind::Person,
    Kind::StreetAddress,
    Kind::DateOfBirth,
    Kind::UsSsn,
    Kind::NationalId,
    Kind::CreditCard,
    Kind::Iban,
    Kind::IpAddress,
    Kind::MacAddress,
    Kind::CryptoWallet,
    Kind::AwsAccessKeyId,
    Kind::AwsSecretAccessKey,
    Kind::GithubToken,
    Kind::GitlabToken,
    Kind::SlackToken,
    Kind::StripeKey,
    Kind::OpenaiApiKey,
    Kind::AnthropicApiKey,
    Kind::GoogleApiKey,
    Kind::Jwt,
    Kind::PrivateKey,
    Kind::VendorApiKey,
    Kind::Password,
    Kind::GenericSecret,
];

impl Kind {
    /// The taxonomy name (`"EMAIL"`, `"US_SSN"`, ...) or the custom rule's type name.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Person => "PERSON",
            Kind::StreetAddress => "STREET_ADDRESS",
            Kind::DateOfBirth => "DATE_OF_BIRTH",
            Kind::UsSsn => "US_SSN",
            Kind::NationalId => "NATIONAL_ID",
            Kind::CreditCard => "CREDIT_CARD",
            Kind::Iban => "IBAN",
            Kind::IpAddress => "IP_ADDRESS",
            Kind::MacAddress => "MAC_ADDRESS",
            Kind::CryptoWallet => "CRYPTO_WALLET",
            Kind::AwsAccessKeyId => "AWS_ACCESS_KEY_ID",
            Kind::AwsSecretAccessKey => "AWS_SECRET_ACCESS_KEY",
            Kind::GithubToken => "GITHUB_TOKEN",
            Kind::GitlabToken => "GITLAB_TOKEN",
            Kind::SlackToken => "SLACK_TOKEN",
            Kind::StripeKey => "STRIPE_KEY",
            Kind::OpenaiApiKey => "OPENAI_API_KEY",
            Kind::AnthropicApiKey => "ANTHROPIC_API_KEY",
            Kind::GoogleApiKey => "GOOGLE_API_KEY",
            Kind::Jwt => "JWT",
            Kind::PrivateKey => "PRIVATE_KEY",
            Kind::VendorApiKey => "VENDOR_API_KEY",
            Kind::Password => "PASSWORD",
            Kind::GenericSecret => "GENERIC_SECRET",
            Kind::Custom(c) => &c.name,
        }
    }

    /// Secrets are credentials (the 14 secret types, and custom rules marked `secret`);
    /// everything else is PII.
    pub fn is_secret(&self) -> bool {
        match self {
            Kind::Email
            | Kind::Phone
            | Kind::Person
            | Kind::StreetAddress
            | Kind::DateOfBirth
            | Kind::UsSsn
            | Kind::NationalId
            | Kind::CreditCard
            | Kind::Iban
            | Kind::IpAddress
            | Kind::MacAddress
            | Kind::CryptoWallet => false,
            Kind::Custom(c) => c.secret,
            _ => true,
        }
    }

    /// Index into [`BUILTIN`], `None` for custom kinds.
    pub(crate) fn index(&self) -> Option<usize> {
        BUILTIN.iter().position(|k| k == self)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a name that is not one of the 26 taxonomy types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown pii/secret type {name:?}")]
pub struct UnknownKind {
    pub name: String,
}

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Parses a taxonomy name, case-insensitively (`"email"` and `"EMAIL"` both work).
    /// Custom kinds are never produced here.
    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        BUILTIN
            .iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .cloned()
            .ok_or_else(|| UnknownKind { name: s.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in BUILTIN.iter() {
            assert_eq!(&k.as_str().parse::<Kind>().unwrap(), k);
            assert_eq!(&k.as_str().to_lowercase().parse::<Kind>().unwrap(), k);
        }
        assert!("NOPE".parse::<Kind>().is_err());
    }

    #[test]
    fn twelve_pii_fourteen_secrets() {
        assert_eq!(BUILTIN.iter().filter(|k| k.is_secret()).count(), 14);
        assert_eq!(BUILTIN.iter().filter(|k| !k.is_secret()).count(), 12);
    }
}
