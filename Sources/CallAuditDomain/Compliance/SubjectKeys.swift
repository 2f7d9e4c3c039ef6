/// The pseudonyms of the persons an event names. Subject objects are stored
/// sealed (`{"subject_ref": …, "sealed": …}`, see the subject vault), so a
/// projection matches a request to calls by `subject_ref` and never holds an
/// identifier, or any function of one.
package enum SubjectKeys {
    package static func keys(of subject: JSONValue?) -> [String] {
        subject?["subject_ref"]?.stringValue.map { [$0] } ?? []
    }
}
