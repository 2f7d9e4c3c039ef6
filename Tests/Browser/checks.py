"""Every check, in the order they run: later ones read what earlier ones left (pages seen by axe-core, URLs visited)."""

from auditor_checks import (an_on_demand_report_shows_the_wait_then_the_report, sign_in_with_the_form, sign_in_with_the_fragment,
                            the_bundle_verifies_outside_the_browser, the_newest_days_report_is_verified_in_the_page,
                            the_seals_with_the_chain_head)
from dpo_checks import (a_bad_form_shows_the_apis_problem, an_access_request_through_the_form_and_its_export,
                        an_erasure_behind_the_typed_confirmation, no_personal_data_in_any_url, no_personal_data_in_the_requests_list,
                        the_requests_list_by_deadline)
from everyone_checks import (an_ops_token_sees_neither_section, axe_core_finds_nothing_serious_on_any_page,
                             keyboard_only_a_dpo_opens_exports_extends_closes_and_erases,
                             keyboard_only_an_auditor_signs_in_opens_a_report_and_downloads_its_bundle,
                             the_first_paint_is_under_a_second_over_ten_thousand_reports_and_requests)
from suite import State  # noqa: F401 (console_test.py builds it through here)

ALL = [(check.__name__, check) for check in (
    sign_in_with_the_form,
    sign_in_with_the_fragment,
    the_newest_days_report_is_verified_in_the_page,
    the_bundle_verifies_outside_the_browser,
    an_on_demand_report_shows_the_wait_then_the_report,
    the_seals_with_the_chain_head,
    the_requests_list_by_deadline,
    an_access_request_through_the_form_and_its_export,
    a_bad_form_shows_the_apis_problem,
    an_erasure_behind_the_typed_confirmation,
    no_personal_data_in_the_requests_list,
    an_ops_token_sees_neither_section,
    keyboard_only_an_auditor_signs_in_opens_a_report_and_downloads_its_bundle,
    keyboard_only_a_dpo_opens_exports_extends_closes_and_erases,
    the_first_paint_is_under_a_second_over_ten_thousand_reports_and_requests,
    axe_core_finds_nothing_serious_on_any_page,
    no_personal_data_in_any_url,
)]
