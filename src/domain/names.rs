//! Names as screening compares them: upper case, letters and digits only (punctuation, spaces and
//! hyphens dropped), and only the first word of a given name (a middle name or initial is
//! ignored). "O'Brien, Robert J." and "OBRIEN, ROBERT" have the same key.

/// The name an exclusion list goes by in responses.
pub fn exclusion_source_name(source: &str) -> &str {
    match source {
        "oig_leie" => "OIG LEIE",
        other => other,
    }
}

/// The comparable form of one name part.
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// "FAMILY|GIVEN" for an individual, or `None` without both parts.
pub fn name_key(family_name: &str, given_name: &str) -> Option<String> {
    let family = normalise(family_name);
    let given = given_name
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .map(normalise)
        .find(|word| !word.is_empty())?;
    (!family.is_empty()).then(|| format!("{family}|{given}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_punctuation_and_middle_initials_do_not_matter() {
        assert_eq!(
            name_key("O'Brien", "Robert J."),
            name_key("OBRIEN", "ROBERT")
        );
        assert_eq!(
            name_key("Garcia-Lopez", "Aisha"),
            name_key("GARCIA LOPEZ", "AISHA A")
        );
        assert_ne!(name_key("Smith", "John"), name_key("Smith", "Jane"));
        assert_eq!(name_key("", "John"), None);
        assert_eq!(name_key("Smith", " "), None);
    }
}
