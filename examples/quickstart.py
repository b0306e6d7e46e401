"""Quick start: a difficult conversation handled with the desk's guidance."""

from serviceplaybook import Agent, Customer, Issue, Money, Offer, OfferKind, ServiceDesk

desk = ServiceDesk.in_memory()
conversation = desk.open(
    customer=Customer(id="cust-1", name="Ann", tier="gold"),
    issue=Issue(category="late_delivery", severity="high", summary="The parcel is two weeks late"),
    agent=Agent(id="sam", name="Sam"),
)
cid = conversation.id

outcome = desk.hear(cid, "Third time I'm asking!!! Where is my parcel?")
print(outcome.conversation.stage, [step.code for step in outcome.guidance])
# listening ['stay_calm', 'acknowledge_feelings', 'do_not_propose_yet', ...]

desk.summarize(cid, "Your parcel is two weeks late and you've asked three times already.")
desk.confirm(cid)
print(desk.apologize(cid).apology.text)
outcome = desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("25.00", "USD")))
print(outcome.authorization.status)  # granted: within the agent's authority
outcome = desk.accept(cid, outcome.conversation.offers[-1].offer.id)
print(outcome.conversation.stage, outcome.follow_up.channel, outcome.follow_up.due_at)
