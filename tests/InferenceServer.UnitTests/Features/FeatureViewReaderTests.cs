using InferenceServer.Core.Features;
using InferenceServer.Core.Repository;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Features;

/// <summary>
/// features.pbtxt is read by the descriptor walk and checked before anything encodes with it: what it declares comes
/// out as the view's API, and every declaration that cannot encode is refused naming the file, line, column and field.
/// </summary>
public sealed class FeatureViewReaderTests
{
    private const string Store = """
        version: 3
        entity_key: [ "region", "id" ]
        store { key_pattern: "user:{region}:{id}" ttl_seconds: 60 timeout_ms: 5 on_failure: DEFAULTS }
        feature { name: "age" source: EITHER transform { standardize { mean: 40 std: 10 } } }
        feature { name: "city" kind: TEXT source: STORE transform { one_hot { value: [ "a", "b" ] oov_bucket: true } } }
        feature { name: "age_bucket" field: "age" source: REQUEST transform { bucketize { boundaries: [ 18, 65 ] } } }
        feature { name: "clicks" ttl_seconds: 5 default_number: 0 }
        output { name: "dense" column: [ "age", "city", "clicks" ] }
        output { name: "bucket" datatype: "INT64" column: "age_bucket" }
        prediction { output: "p" label: [ "no", "yes" ] }
        """;

    [Fact]
    public void A_view_exposes_what_its_file_declares_with_defaults_filled_in()
    {
        var view = FeatureViewReader.Parse(Store, "users");

        Assert.Equal("users", view.Name);
        Assert.Equal(3, view.Version);
        Assert.Equal(["region", "id"], view.EntityKeys);
        Assert.NotNull(view.Store);
        Assert.Equal("user:{region}:{id}", view.Store.KeyPattern);
        Assert.Equal(TimeSpan.FromSeconds(60), view.Store.Ttl);
        Assert.Equal(TimeSpan.FromMilliseconds(5), view.Store.Timeout);
        Assert.Equal(FeatureStoreFailureMode.Defaults, view.Store.OnFailure);
        // Raw fields in the order features first name them; age is shared by two features.
        Assert.Equal(["age", "city", "clicks"], view.Fields.Select(f => f.Name));
        Assert.Equal([FeatureKind.Number, FeatureKind.Text, FeatureKind.Number], view.Fields.Select(f => f.Kind));
        Assert.Equal(["age", "city", "clicks"], view.StoreFields);
        Assert.Equal([true, false, true], view.Fields.Select(f => f.FromRequest));
        Assert.Equal([0, 1, 2], view.Fields.Select(f => f.StoreIndex));
        Assert.True(view.TryGetField("city".AsSpan(), out var city));
        Assert.Equal(1, city);
        Assert.False(view.TryGetField("town".AsSpan(), out _));
        Assert.Equal(["dense", "bucket"], view.Outputs.Select(o => o.Name));
        Assert.Equal([DataType.Fp32, DataType.Int64], view.Outputs.Select(o => o.DataType));
        // age 1 + city 2 values and the out-of-vocabulary column + clicks 1.
        Assert.Equal([5, 1], view.Outputs.Select(o => o.Width));
        Assert.NotNull(view.Prediction);
        Assert.Equal("p", view.Prediction.Output);
        Assert.Equal(0.5, view.Prediction.Threshold);
        Assert.Equal(["no", "yes"], view.Prediction.Labels);
        Assert.Equal("yes", view.Prediction.Label(0.5));
        Assert.Equal("no", view.Prediction.Label(0.4999));
    }

    [Fact]
    public void The_store_key_fills_the_pattern_with_the_entity_key_values_in_their_declared_order()
    {
        var view = FeatureViewReader.Parse(Store, "users");
        Assert.Equal("user:eu:42", view.StoreKey(["eu", "42"]));
        Assert.Throws<ArgumentException>(() => view.StoreKey(["42"]));
        var escaped = FeatureViewReader.Parse("""
            entity_key: "id"
            store { key_pattern: "{{v1}}:{id}" }
            feature { name: "x" }
            output { name: "in" column: "x" }
            """, "braces");
        Assert.Equal("{v1}:7", escaped.StoreKey(["7"]));
    }

    [Fact]
    public void A_view_without_a_store_reads_only_requests()
    {
        var view = FeatureViewReader.Parse("""feature { name: "x" } output { name: "in" column: "x" }""", "plain");
        Assert.Null(view.Store);
        Assert.Empty(view.StoreFields);
        Assert.Empty(view.EntityKeys);
        Assert.Equal(1, view.Version);
        Assert.Null(view.Prediction);
        Assert.True(view.Fields[0].FromRequest);
        Assert.False(view.Fields[0].FromStore);
        Assert.Throws<InvalidOperationException>(() => view.StoreKey([]));
    }

    public static TheoryData<string, string> Refused() => new()
    {
        // An unknown transform parameter, with a suggestion.
        { "feature { name: \"x\" transform { standardize { mean: 1 stdev: 2 } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:55: unknown field 'feature[0].transform[0].standardize.stdev' (did you mean 'std'?); a feature view refuses fields it does not know" },
        { "feature { name: \"x\" transform { standardize { mean: 1 std: 0 } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:55: feature[0].transform[0].standardize.std: 0 is not a standard deviation to divide by: give a finite number above 0" },
        { "feature { name: \"x\" kind: TEXT transform { one_hot { } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:44: feature[0].transform[0].one_hot.value: the vocabulary is empty: list the values it knows" },
        { "feature { name: \"x\" kind: TEXT transform { ordinal { value: [ \"a\", \"a\" ] } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:54: feature[0].transform[0].ordinal.value[1]: 'a' is in the vocabulary twice" },
        { "feature { name: \"x\" }\nfeature { name: \"x\" }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:2:11: feature[1].name: feature 'x' is declared twice" },
        { "feature { name: \"x\" }\noutput { name: \"in\" column: [ \"x\", \"y\" ] }",
            "v/features.pbtxt:2:21: output[0].column[1]: 'y' is not a feature of the view (its features: x)" },
        { "feature { name: \"x\" }\nfeature { name: \"y\" }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:2:11: feature[1].name: feature 'y' is a column of no output: add it to an output or remove it" },
        { "entity_key: \"id\"\nstore { key_pattern: \"u:{user}\" }\nfeature { name: \"x\" }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:2:9: store.key_pattern: placeholder '{user}' names no entity key (the view's entity keys: id)" },
        { "entity_key: [ \"id\", \"region\" ]\nstore { key_pattern: \"u:{id}\" }\nfeature { name: \"x\" }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:2:9: store.key_pattern: entity key 'region' appears nowhere in it: two entities that differ only in it would share a key; add '{region}'" },
        { "store { key_pattern: \"u:{id}\" }\nfeature { name: \"x\" }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:1: entity_key: required with a store: the entity key (e.g. 'id') whose value fills the key pattern" },
        { "feature { name: \"x\" source: STORE }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:21: feature[0].source: STORE reads the store, and the view declares none" },
        { "feature { name: \"x\" kind: TEXT }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:1: feature[0].transform: a TEXT feature needs one_hot or ordinal, to turn 'x' into numbers" },
        { "feature { name: \"x\" transform { one_hot { value: \"a\" } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:33: feature[0].transform[0].one_hot: one_hot encodes TEXT features, and 'x' is a NUMBER (give it 'kind: TEXT', or bucketize a number)" },
        { "feature { name: \"x\" kind: TEXT transform { one_hot { value: \"a\" } } transform { log1p {} } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:69: feature[0].transform[1]: one_hot must be the last transform: its columns are 0 or 1, not a number to transform further" },
        { "feature { name: \"x\" default_text: \"?\" }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:21: feature[0].default_text: 'x' is a NUMBER feature: its default is default_number" },
        { "feature { name: \"x\" transform { log1p {} } default_number: -1 }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:44: feature[0].default_number: the default cannot be encoded: feature 'x': log1p takes values above -1, got -1" },
        { "feature { name: \"x\" transform { clip { min: 2 max: 1 } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:33: feature[0].transform[0].clip: the bounds [2, 1] are not a range: min at most max" },
        { "feature { name: \"x\" transform { bucketize { boundaries: [ 1, 1 ] } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:45: feature[0].transform[0].bucketize.boundaries[1]: the edges must increase: 1 follows 1" },
        { "feature { name: \"x\" transform { min_max { min: 1 max: 1 } } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:50: feature[0].transform[0].min_max.max: max (1) must be more than min (1)" },
        { "feature { name: \"x\" transform { } }\noutput { name: \"in\" column: \"x\" }",
            "v/features.pbtxt:1:21: feature[0].transform[0]: names no transform: give one of standardize, min_max, log1p, clip, bucketize, one_hot, ordinal" },
        { "feature { name: \"x\" }\noutput { name: \"in\" datatype: \"BYTES\" column: \"x\" }",
            "v/features.pbtxt:2:21: output[0].datatype: 'BYTES' is not a type a view writes: FP32, FP64, INT32 or INT64" },
        { "feature { name: \"x\" }\noutput { name: \"in\" column: \"x\" }\nprediction { output: \"p\" label: \"yes\" }",
            "v/features.pbtxt:3:26: prediction.label: give exactly two labels, the negative one first (e.g. '<=50K', '>50K'); 1 given" },
        { "feature { name: \"x\" }",
            "v/features.pbtxt:1:1: output: a view needs at least one output: the model input it feeds, and its columns" },
        { "feature { name: \"x\"\n",
            "v/features.pbtxt:2:1: expected '}' to close 'feature' opened at 1:9, found end of file" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_declaration_that_cannot_encode_is_refused_naming_file_line_column_and_field(string text, string message)
    {
        var e = Assert.Throws<FeatureViewException>(() => FeatureViewReader.Parse(text, "v"));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    private const string IncomeLike = """
        feature { name: "a" }
        feature { name: "b" kind: TEXT transform { one_hot { value: [ "x", "y" ] } } }
        output { name: "features" column: [ "a", "b" ] }
        prediction { output: "probability" label: [ "n", "p" ] }
        """;

    [Fact]
    public void A_view_that_fits_its_model_passes_the_check()
    {
        FeatureViewReader.CheckModel(FeatureViewReader.Parse(IncomeLike, "m"), Model(maxBatchSize: 8, "input { name: \"features\" data_type: TYPE_FP32 dims: [ 3 ] }"));
        FeatureViewReader.CheckModel(FeatureViewReader.Parse(IncomeLike, "m"), Model(maxBatchSize: 0, "input { name: \"features\" data_type: TYPE_FP32 dims: [ -1, 3 ] }"));
    }

    public static TheoryData<int, string, string> Mismatches() => new()
    {
        { 8, "input { name: \"features\" data_type: TYPE_FP32 dims: [ 4 ] }",
            "m/features.pbtxt: output 'features' (FP32, 3 columns) does not fit model 'm' input 'features' (TYPE_FP32, dims [4], max_batch_size 8): the view writes rows of 3 values, which needs dims [3]" },
        { 8, "input { name: \"features\" data_type: TYPE_FP64 dims: [ 3 ] }",
            "m/features.pbtxt: output 'features' (FP32, 3 columns) does not fit model 'm' input 'features' (TYPE_FP64, dims [3], max_batch_size 8): the data types differ" },
        { 0, "input { name: \"features\" data_type: TYPE_FP32 dims: [ 3 ] }",
            "m/features.pbtxt: output 'features' (FP32, 3 columns) does not fit model 'm' input 'features' (TYPE_FP32, dims [3], max_batch_size 0): the view writes rows of 3 values, which needs dims [-1, 3]" },
        { 8, "input { name: \"x\" data_type: TYPE_FP32 dims: [ 3 ] }",
            "m/features.pbtxt: output 'features' (FP32, 3 columns) feeds no input of model 'm', whose inputs are 'x'" },
        { 8, "input { name: \"features\" data_type: TYPE_FP32 dims: [ 3 ] }\ninput { name: \"mask\" data_type: TYPE_FP32 dims: [ 3 ] }",
            "m/features.pbtxt: model 'm' input 'mask' is fed by no output of the view, whose outputs are 'features'" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void A_view_that_does_not_fit_its_model_is_refused_naming_both(int maxBatchSize, string inputs, string message)
    {
        var e = Assert.Throws<FeatureViewException>(() => FeatureViewReader.CheckModel(FeatureViewReader.Parse(IncomeLike, "m"), Model(maxBatchSize, inputs)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_prediction_must_read_an_output_of_the_model()
    {
        var config = Model(8, "input { name: \"features\" data_type: TYPE_FP32 dims: [ 3 ] }").Clone();
        config.Output[0].Name = "logit";
        var e = Assert.Throws<FeatureViewException>(() => FeatureViewReader.CheckModel(FeatureViewReader.Parse(IncomeLike, "m"), config));
        Assert.Equal("m/features.pbtxt: prediction.output 'probability' is no output of model 'm', whose outputs are 'logit'", e.Message);
    }

    private static ModelConfig Model(int maxBatchSize, string inputs) =>
        ModelConfigReader.Parse($"""
            name: "m"
            platform: "onnxruntime_onnx"
            max_batch_size: {maxBatchSize}
            {inputs}
            output {"{"} name: "probability" data_type: TYPE_FP32 dims: [ 1 ] {"}"}
            """).Config;
}
