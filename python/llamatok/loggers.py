"""Where llamatok's log messages go. A message that repeats one of transformers' word for word goes to the
logger transformers gives it, so that a program switching from transformers' class keeps its logging set-up
(``transformers.logging.set_verbosity_error()``, filters or handlers on those names); llamatok's own
messages go to the ``llamatok`` logger (docs/transformers.md, "Log messages")."""

from __future__ import annotations

import logging

#: llamatok's own advice and warnings.
OWN = logging.getLogger("llamatok")
#: transformers' ``tokenization_utils_base`` messages (sequence too long, truncation).
TOKENIZATION = logging.getLogger("transformers.tokenization_utils_base")
#: transformers' ``utils.chat_template_utils`` messages (``{% generation %}`` missing).
CHAT_TEMPLATE = logging.getLogger("transformers.utils.chat_template_utils")
