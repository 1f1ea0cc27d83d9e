"""The XML namespaces of BPMN and of the extensions Valueflow reads, with the prefixes used in its queries."""

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
FLOWABLE_NS = "http://flowable.org/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"
DROOLS_NS = "http://www.jboss.org/drools"  # jBPM's extensions
# The engines that write their extensions as attributes of one shape (camunda:candidateGroups, flowable:class,
# activiti:expression), each with the prefix a process owner reads in a message.
JAVA_DIALECTS = (("camunda", CAMUNDA_NS), ("flowable", FLOWABLE_NS), ("activiti", ACTIVITI_NS))
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "zeebe": ZEEBE_NS}
