namespace InferenceServer.LoadTest.Sla;

/// <summary>The comparison an SLA assertion makes of the measured value against its limit.</summary>
internal enum SlaOperator
{
    LessThan,
    LessOrEqual,
    GreaterThan,
    GreaterOrEqual,
}
