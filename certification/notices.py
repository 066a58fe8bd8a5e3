"""What certification tells people: an appeal or complaint received and answered, a certificate
issued and each change of its status. The messages name the case and the certificate only: grounds
and results stay behind the person's sign-in (My page), not in an e-mail."""

from __future__ import annotations

from certification.schemas import AppealStatus, CertificateStatus
from vakt.i18n import _l
from vakt.notifications import Kind

APPEAL_RECEIVED = Kind(
    key="certification.appeal_received",
    subject=_l("Your appeal {number} has been received"),
    body=_l(
        "Your appeal {number} was registered at {filed_at}. You will be told of the outcome. "
        "Sign in to Vakt and open My page to follow it."
    ),
    times=frozenset({"filed_at"}),
)


APPEAL_UPHELD = Kind(
    key="certification.appeal_upheld",
    subject=_l("Your appeal {number} has been upheld"),
    body=_l(
        "Your appeal {number} has been upheld. Sign in to Vakt and open My page to read "
        "the grounds."
    ),
)


APPEAL_REJECTED = Kind(
    key="certification.appeal_rejected",
    subject=_l("Your appeal {number} has been rejected"),
    body=_l(
        "Your appeal {number} has been rejected. Sign in to Vakt and open My page to read "
        "the grounds."
    ),
)


COMPLAINT_RECEIVED = Kind(
    key="certification.complaint_received",
    subject=_l("Your complaint {number} has been received"),
    body=_l(
        "Your complaint {number} was registered at {filed_at}. The certification body will "
        "answer it. Sign in to Vakt and open Complaints to follow it."
    ),
    times=frozenset({"filed_at"}),
)


COMPLAINT_ANSWERED = Kind(
    key="certification.complaint_answered",
    subject=_l("Your complaint {number} has been answered"),
    body=_l(
        "The certification body has answered your complaint {number}. Sign in to Vakt and "
        "open Complaints to read the answer."
    ),
)


CERTIFICATE_ISSUED = Kind(
    key="certification.certificate_issued",
    subject=_l("You are certified"),
    body=_l(
        "You are certified in {scheme}. Your certificate has number {number} and is valid "
        "until {valid_until}. Sign in to Vakt and open My page to download it."
    ),
    dates=frozenset({"valid_until"}),
)


CERTIFICATE_SUSPENDED = Kind(
    key="certification.certificate_suspended",
    subject=_l("Your certificate is suspended"),
    body=_l(
        "Your certificate {number} in {scheme} was suspended at {changed_at}. Sign in to "
        "Vakt and open My page to read the grounds."
    ),
    times=frozenset({"changed_at"}),
)


CERTIFICATE_WITHDRAWN = Kind(
    key="certification.certificate_withdrawn",
    subject=_l("Your certificate is withdrawn"),
    body=_l(
        "Your certificate {number} in {scheme} was withdrawn at {changed_at}. Sign in to "
        "Vakt and open My page to read the grounds."
    ),
    times=frozenset({"changed_at"}),
)


CERTIFICATE_REINSTATED = Kind(
    key="certification.certificate_reinstated",
    subject=_l("Your certificate is valid again"),
    body=_l("The suspension of your certificate {number} in {scheme} was lifted at {changed_at}."),
    times=frozenset({"changed_at"}),
)

KINDS = (
    APPEAL_RECEIVED,
    APPEAL_UPHELD,
    APPEAL_REJECTED,
    COMPLAINT_RECEIVED,
    COMPLAINT_ANSWERED,
    CERTIFICATE_ISSUED,
    CERTIFICATE_SUSPENDED,
    CERTIFICATE_WITHDRAWN,
    CERTIFICATE_REINSTATED,
)
"""The kinds of message certification sends (``vakt.notifications.Kinds``)."""

APPEAL_OUTCOME = {AppealStatus.UPHELD: APPEAL_UPHELD, AppealStatus.REJECTED: APPEAL_REJECTED}
"""What the candidate is told of each outcome of an appeal."""

CERTIFICATE_STATUS = {
    CertificateStatus.SUSPENDED: CERTIFICATE_SUSPENDED,
    CertificateStatus.WITHDRAWN: CERTIFICATE_WITHDRAWN,
    CertificateStatus.VALID: CERTIFICATE_REINSTATED,
}
"""What the holder is told when their certificate's status changes to each status."""
