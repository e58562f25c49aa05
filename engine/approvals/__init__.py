"""Chinese approval operations on human tasks (docs/approval-operations.md).

转办 transfer, 委派 delegate, 代理 proxy, 退回 return, 驳回 reject, 撤回 withdraw, 催办 urge,
抄送 copy, 加签/减签 signers of a running co-review, timeout actions and 意见 opinions.
Each command is one unit of work: permission-checked, audited, announced as an event.
The SpiffWorkflow surgery they need is confined to ``multi_instance`` and ``rewinding``.
"""
