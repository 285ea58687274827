namespace InferenceServer.Core.Features;

/// <summary>How a compiled feature turns its value into columns.</summary>
internal enum FeatureEncoding
{
    /// <summary>A number, after its numeric transforms: one column.</summary>
    Number,

    /// <summary>A text's index in the vocabulary, then numeric transforms: one column.</summary>
    Ordinal,

    /// <summary>A text's vocabulary column set to 1: one column per value (plus the out-of-vocabulary one).</summary>
    OneHot,
}
