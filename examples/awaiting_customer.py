"""Extending the playbook by subclassing: a stage, a transition, a guard and a callback.

A company parks a conversation in ``awaiting_customer`` while the customer looks something
up (an invoice number, a serial number). The agent may only park it with a question for the
customer; the question is recorded as the agent's message, so SLA clocks see that the
conversation waits on the customer; the customer's answer brings it back to ``resolving``.
"""

import attrs

from serviceplaybook import (
    Agent,
    Conversation,
    Customer,
    Event,
    Guidance,
    IllegalTransition,
    Issue,
    Message,
    Playbook,
    ServiceDesk,
    Stage,
    Transition,
)


class WaitingPlaybook(Playbook):
    stages = (*Playbook.stages, "awaiting_customer")
    transitions = (
        *Playbook.transitions,
        Transition(
            event="wait",
            source=Stage.RESOLVING,
            dest="awaiting_customer",
            conditions="asks_something",  # a guard: a method returning bool
            after="record_question",  # a callback: may return a changed conversation
        ),
        Transition(event="hear", source="awaiting_customer", dest=Stage.RESOLVING),
        Transition(event="escalate", source="awaiting_customer", dest=Stage.ESCALATED),
        Transition(event="terminate", source="awaiting_customer", dest=Stage.TERMINATED),
    )

    def asks_something(self, conversation: Conversation, event: Event) -> bool:
        return bool(str(event.data.get("question", "")).strip())

    def record_question(self, conversation: Conversation, event: Event) -> Conversation:
        question = Message(author=event.actor, text=event.data["question"], at=event.at)
        return attrs.evolve(conversation, messages=(*conversation.messages, question))

    def stage_guidance(self, conversation: Conversation) -> tuple[Guidance, ...]:
        if conversation.stage == "awaiting_customer":
            return (
                Guidance(
                    code="say_when_you_will_check_back",
                    text="Tell the customer what you need from them and when you'll check back.",
                ),
            )
        return super().stage_guidance(conversation)


desk = ServiceDesk.in_memory(playbook=WaitingPlaybook())
cid = desk.open(
    customer=Customer(id="cust-7"),
    issue=Issue(category="billing", severity="medium", summary="Charged twice in March"),
    agent=Agent(id="lee"),
).id
desk.hear(cid, "You charged me twice!")
desk.summarize(cid, "You were charged twice for your March invoice.")
desk.confirm(cid)

try:
    desk.fire(cid, "wait")
except IllegalTransition as refused:
    print("refused:", refused.failed_guards)  # ('asks_something',): no question, no waiting

parked = desk.fire(cid, "wait", data={"question": "Could you send me the invoice number?"})
print(parked.conversation.stage, parked.conversation.waiting_on)  # awaiting_customer customer
print([step.code for step in parked.guidance])  # ['say_when_you_will_check_back']

back = desk.hear(cid, "It's INV-2291.")
print(back.conversation.stage)  # resolving
print([entry.kind for entry in desk.history(cid)])
