namespace InferenceServer.Benchmarks.Rest;

/// <summary>The request/response pairs the REST codec benchmarks run over.</summary>
public enum Payload
{
    /// <summary><c>income</c>: one FP32 input <c>features</c> [1,58]; output <c>probability</c> FP32 [1,1].</summary>
    Income1,

    /// <summary><c>income</c> batched: <c>features</c> [32,58]; <c>probability</c> [32,1].</summary>
    Income32,

    /// <summary><c>simple</c>: INT32 <c>INPUT0</c>, <c>INPUT1</c> [1,16]; INT32 <c>OUTPUT0</c>, <c>OUTPUT1</c> [1,16].</summary>
    Simple,
}
