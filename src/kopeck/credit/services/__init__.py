"""Writers of credit control: blocks (:mod:`.blocks`), the credit check and its plans
(:mod:`.check`), promised payments (:mod:`.promises`), the notices (:mod:`.notices`), credit
policies (:mod:`.policies`)."""

from kopeck.credit.services.blocks import block_lift, block_place
from kopeck.credit.services.check import credit_check, credit_check_clients
from kopeck.credit.services.policies import credit_policy_set
from kopeck.credit.services.promises import promise_grant, promise_limits

__all__ = ["block_lift", "block_place", "credit_check", "credit_check_clients", "credit_policy_set",
           "promise_grant", "promise_limits"]
