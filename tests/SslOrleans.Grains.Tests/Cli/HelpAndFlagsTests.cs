using System.CommandLine;
using System.ComponentModel;
using System.Reflection;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Cli;
using SslOrleans.Cli.Specs;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>sslo's command line itself: help on every command, the run-spec flags made from RunSpec, and bad input.
/// Nothing here trains: every case stops at help, at the parser, or at the spec.</summary>
public sealed class HelpAndFlagsTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => SsloInProcess.RunAsync(args);

    /// <summary>Every command under sslo, as the words that name it ("bench numerics").</summary>
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        void Walk(Command command, string path)
        {
            foreach (var sub in command.Subcommands.Where(c => !c.Hidden))
            {
                var words = (path + " " + sub.Name).Trim();
                data.Add(words);
                Walk(sub, words);
            }
        }
        Walk(Sslo.CreateRoot(), "");
        return data;
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task Sslo_help_lists_every_command_and_exits_0(string flag)
    {
        var (code, stdout, stderr) = await RunAsync(flag);
        Assert.True(code == 0, stderr);
        Assert.Contains("Usage:", stdout);
        Assert.Contains("sslo [command] [options]", stdout);
        foreach (var verb in new[] { "pretrain", "scale", "status", "checkpoint", "data", "eval", "bench", "tokenizer" })
            Assert.Contains($"  {verb}", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task Sslo_alone_shows_help_and_exits_2()
    {
        var (code, stdout, _) = await RunAsync();
        Assert.Equal(2, code);
        Assert.Contains("Usage:", stdout);
    }

    [Fact]
    public async Task Pretrain_help_lists_every_run_spec_flag_with_its_description()
    {
        var (code, stdout, stderr) = await RunAsync("pretrain", "--help");
        Assert.True(code == 0, stderr);
        Assert.Contains("sslo pretrain [options]", stdout);
        Assert.Contains("--micro-batch <N>", stdout);
        Assert.Contains("Micro-batch m: unit of work and of batch-norm statistics", stdout);
        Assert.Contains("[default: 32]", stdout);
        foreach (var (key, property) in SpecBinder.Keys)
        {
            var line = Assert.Single(stdout.Split('\n'), l => l.TrimStart().StartsWith("--" + key.Replace('_', '-') + " ", StringComparison.Ordinal)
                                                              || l.Trim() == "--" + key.Replace('_', '-'));
            Assert.Contains(property.GetCustomAttribute<DescriptionAttribute>()!.Description, line);
        }
        foreach (var flag in new[] { "--config <FILE>", "--no-eval", "--cluster <CONN>" }) Assert.Contains(flag, stdout);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Every_command_has_help_that_describes_each_option_and_exits_0(string command)
    {
        var words = command.Split(' ');
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, stdout, stderr) = await RunAsync([.. words, flag]);
            Assert.True(code == 0, $"{command} {flag}: exit {code}: {stderr}");
            Assert.Contains($"sslo {command}", stdout);
            Assert.Equal("", stderr);
        }
        var symbol = words.Aggregate(Sslo.CreateRoot(), (at, word) => at.Subcommands.Single(c => c.Name == word));
        var help = (await RunAsync([.. words, "--help"])).Out;
        foreach (var option in symbol.Options.Where(o => o.Name != "--help"))
        {
            Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{command} {option.Name} has no description");
            Assert.Contains(option.Name, help);
            Assert.Contains(option.Description!.Split('[')[0].Trim(), help);
        }
        foreach (var argument in symbol.Arguments) Assert.False(string.IsNullOrWhiteSpace(argument.Description), $"{command} {argument.Name}");
    }

    [Fact]
    public void Every_run_spec_property_has_a_description()
    {
        var writable = typeof(RunSpec).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
        Assert.Equal(writable.Count, SpecBinder.Keys.Count);
        foreach (var p in writable)
            Assert.False(string.IsNullOrWhiteSpace(p.GetCustomAttribute<DescriptionAttribute>()?.Description), $"RunSpec.{p.Name} has no [Description]");
    }

    [Theory]
    [InlineData("micro_batch", "16")]
    [InlineData("lr", "0.05")]
    [InlineData("optimizer", "sgd")]
    [InlineData("steps", "7")]
    [InlineData("gradient_dtype", "float32")]
    [InlineData("check_replicas", "true")]
    [InlineData("nesterov", "false")]
    [InlineData("mirror_shards", "false")]
    [InlineData("checkpoint_minutes", "2.5")]
    public void A_run_spec_flag_and_its_yaml_key_set_the_same_property(string key, string value)
    {
        var property = SpecBinder.Keys.Single(k => k.Key == key).Property;
        var flag = "--" + key.Replace('_', '-');
        var config = Path.Combine(Path.GetTempPath(), $"sslo-flag-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(config, $"{key}: {value}\n");
        var fromYaml = SpecLoader.Load(["--config", config]);
        var forms = new[]
        {
            SpecLoader.Load([flag, value]),
            SpecLoader.Load([$"{flag}={value}"]),
            SpecLoader.Load(["--" + key, value]), // snake_case, as users also type it
            SpecLoader.Load([$"--{key}={value}"]),
        };
        Assert.NotEqual(property.GetValue(new RunSpec()), property.GetValue(fromYaml));
        foreach (var spec in forms) Assert.Equal(property.GetValue(fromYaml), property.GetValue(spec));
    }

    [Fact]
    public void A_bare_boolean_flag_is_true_and_takes_an_explicit_value()
    {
        Assert.True(SpecLoader.Load(["--check-replicas"]).CheckReplicas);
        Assert.True(SpecLoader.Load(["--check-replicas", "--width", "8"]).CheckReplicas);
        Assert.False(SpecLoader.Load(["--check-replicas=false"]).CheckReplicas);
        Assert.False(SpecLoader.Load(["--check-replicas", "false"]).CheckReplicas);
        Assert.True(SpecLoader.Load(["--nesterov"]).Nesterov);
        Assert.False(SpecLoader.Load(["--no-eval"]).Evaluate);
        Assert.False(SpecLoader.Load(["--evaluate=false"]).Evaluate);
    }

    [Fact]
    public void Config_keys_are_read_and_flags_given_beside_them_win_in_any_order()
    {
        var config = Path.Combine(Path.GetTempPath(), $"sslo-config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(config, "method: simclr\nwidth: 8\nbatch: 64\nmicro_batch: 16\nminutes: 3\ncheck_replicas: true\n");
        var spec = SpecLoader.Load(["--micro_batch=8", "--config", config, "--steps", "5", "--check-replicas=false"]);
        Assert.Equal(("simclr", 8, 64, 8), (spec.Method, spec.Width, spec.Batch, spec.MicroBatch));
        // A budget flag replaces the file's budget, whichever kind.
        Assert.Equal((5L, (double?)null), (spec.Steps!.Value, spec.Minutes));
        Assert.False(spec.CheckReplicas);
        // A flag given twice keeps its last value, as sslo's flags always did.
        Assert.Equal(32, SpecLoader.Load(["--config", config, "--micro-batch", "8", "--micro-batch", "32"]).MicroBatch);
    }

    [Theory]
    [InlineData(new[] { "pretrain", "--widht", "4" }, "pretrain: unknown flag '--widht'; did you mean --width?")]
    [InlineData(new[] { "pretrain", "--width=4", "--frobnicate" }, "pretrain: unknown flag '--frobnicate'")]
    [InlineData(new[] { "pretrain", "--width", "four" }, "pretrain: --width: key 'width' wants an integer, got 'four'")]
    [InlineData(new[] { "pretrain", "--resume=maybe" }, "pretrain: --resume wants true or false, got 'maybe'")]
    [InlineData(new[] { "pretrain", "--out", "--resume" }, "pretrain: --out needs a value, not the flag '--resume'")]
    [InlineData(new[] { "pretrain", "--steps" }, "pretrain: --steps needs a value")]
    [InlineData(new[] { "pretrain", "4" }, "pretrain: unexpected argument '4'")]
    [InlineData(new[] { "pretrain", "--cluster", "redis://127.0.0.1:1", "--cluster=redis://127.0.0.1:2" }, "pretrain: --cluster is given twice")]
    [InlineData(new[] { "pretrain", "--cluster", "nowhere" }, "pretrain: --cluster 'nowhere'")]
    [InlineData(new[] { "frobnicate" }, "sslo: unknown command 'frobnicate'")]
    [InlineData(new[] { "bench" }, "bench: give one of: learn, exchange, numerics, checkpoint")]
    [InlineData(new[] { "bench", "lern" }, "bench: unknown command 'lern'; did you mean learn?")]
    [InlineData(new[] { "checkpoint", "list" }, "checkpoint list: LOCATION is missing")]
    [InlineData(new[] { "checkpoint", "download", "runs/x", "--format", "onnx" }, "--format wants one of safetensors, pytorch, got 'onnx'")]
    [InlineData(new[] { "tokenizer", "train", "--seed", "-1" }, "tokenizer train: --seed wants an integer ≥ 0, got '-1'")]
    [InlineData(new[] { "bench", "numerics", "--rounds", "0" }, "bench numerics: --rounds wants a positive integer, got '0'")]
    [InlineData(new[] { "bench", "learn", "--methods", "," }, "bench learn: --methods names no method")]
    [InlineData(new[] { "help", "frobnicate" }, "help: unknown command 'frobnicate'")]
    public async Task Bad_input_is_one_line_naming_the_command_and_the_flag_with_exit_code_2(string[] args, string message)
    {
        await SsloInProcess.AssertBadInputAsync(args, message);
    }
}
