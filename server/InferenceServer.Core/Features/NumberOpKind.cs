namespace InferenceServer.Core.Features;

/// <summary>The numeric transforms a compiled feature applies in order.</summary>
internal enum NumberOpKind
{
    Standardize,
    MinMax,
    Log1p,
    Clip,
    Bucketize,
}
