using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Evaluation;

/// <summary>Settings of <see cref="LinearProbe.Fit"/>.</summary>
/// <param name="L2">Penalty λ/2·‖W‖² added to the mean cross-entropy (the bias is not penalised). A small λ keeps
/// the problem strongly convex, so it has one optimum even when the classes are separable.</param>
/// <param name="MaxIterations">L-BFGS iterations at most; reaching it reports <c>Converged = false</c>.</param>
/// <param name="RelativeTolerance">Converged when an iteration lowers the loss by less than this fraction of it.</param>
/// <param name="GradientTolerance">Converged when no gradient component exceeds this.</param>
/// <param name="History">Number of (step, gradient change) pairs L-BFGS keeps.</param>
public sealed record LinearProbeOptions(
    double L2 = 1e-4, int MaxIterations = 500, double RelativeTolerance = 1e-7, double GradientTolerance = 1e-6, int History = 10)
{
    public void Validate()
    {
        if (!(L2 >= 0) || double.IsInfinity(L2)) throw new ArgumentOutOfRangeException(nameof(L2), L2, "the L2 penalty must be finite and not negative");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxIterations);
        if (!(RelativeTolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(RelativeTolerance), RelativeTolerance, "must not be negative");
        if (!(GradientTolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(GradientTolerance), GradientTolerance, "must not be negative");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(History);
    }
}

/// <summary>Outcome of a linear probe; accuracies in percent (0..100), like <see cref="Knn"/>.</summary>
public sealed record LinearProbeResult(double TestTop1, double TrainTop1, int Iterations, double TrainLoss, bool Converged);

/// <summary>
/// Linear evaluation of frozen features, the standard SSL protocol: multinomial logistic regression
/// Linear(dim, classes) on features standardised with the train split's mean and standard deviation.
/// The objective is convex, so it is solved to convergence with full-batch L-BFGS (Armijo backtracking)
/// rather than with an SGD schedule that would need tuning per backbone. SSL features are strongly correlated,
/// which makes plain L-BFGS crawl (500 iterations were not enough at width 16); its initial inverse Hessian is
/// therefore the inverse feature correlation matrix (a preconditioner: it changes the path, not the optimum).
/// The weights start at zero: there is no randomness, and with the same libtorch thread count the result is
/// bit-identical run to run.
/// </summary>
public static class LinearProbe
{
    // Armijo sufficient-decrease constant and the most step halvings per line search.
    private const double Armijo = 1e-4;
    private const int MaxHalvings = 30;

    // Rows used to estimate the preconditioner (it need not be exact), and its ridge relative to the unit diagonal.
    private const int PreconditionerRows = 10_000;
    private const double PreconditionerRidge = 1e-3;

    /// <param name="trainFeatures">Row-major [trainLabels.Length, dim].</param>
    /// <param name="testFeatures">Row-major [testLabels.Length, dim].</param>
    public static LinearProbeResult Fit(
        float[] trainFeatures, byte[] trainLabels, float[] testFeatures, byte[] testLabels,
        int dim, int classes, LinearProbeOptions? options = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(trainFeatures);
        ArgumentNullException.ThrowIfNull(trainLabels);
        ArgumentNullException.ThrowIfNull(testFeatures);
        ArgumentNullException.ThrowIfNull(testLabels);
        options ??= new LinearProbeOptions();
        options.Validate();
        Validate(trainFeatures, trainLabels, testFeatures, testLabels, dim, classes);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var train = tensor(trainFeatures, [trainLabels.Length, dim]);
        var test = tensor(testFeatures, [testLabels.Length, dim]);
        // Constant features (dead ReLU channels are common) get std 1: they then stay 0 and carry no weight.
        var mean = train.mean([0], keepdim: true);
        var std = train.std(0, unbiased: false, keepdim: true);
        std = where(std.Above(1e-12), std, ones_like(std));
        train = (train - mean) / std;
        test = (test - mean) / std;
        var trainY = tensor(trainLabels.Select(l => (long)l).ToArray());
        var testY = tensor(testLabels.Select(l => (long)l).ToArray());

        var objective = new Objective(train, trainY, dim, classes, options.L2);
        var preconditioner = new Preconditioner(train, dim, classes);
        var (theta, iterations, loss, converged) = Minimise(objective, preconditioner, options, log);
        var (w, b) = objective.Weights(theta);
        return new LinearProbeResult(Accuracy(test, testY, w, b), Accuracy(train, trainY, w, b), iterations, loss, converged);
    }

    /// <summary>L-BFGS (Nocedal &amp; Wright, Algorithm 7.4) in float64 on the flat parameter vector.</summary>
    private static (double[] Theta, int Iterations, double Loss, bool Converged) Minimise(
        Objective f, Preconditioner h0, LinearProbeOptions options, Action<string>? log)
    {
        int n = f.Size;
        var x = new double[n];
        var g = new double[n];
        double fx = f.Evaluate(x, g);
        var steps = new Queue<(double[] S, double[] Y, double Rho, double Gamma)>();
        var direction = new double[n];
        var xNew = new double[n];
        var gNew = new double[n];
        for (int iteration = 1; iteration <= options.MaxIterations; iteration++)
        {
            if (MaxAbs(g) <= options.GradientTolerance) return (x, iteration - 1, fx, true);
            TwoLoop(g, steps, h0, direction);
            double slope = Dot(g, direction);
            if (slope >= 0)
            {
                // Rounding can spoil the curvature pairs; restart from the preconditioned gradient.
                steps.Clear();
                TwoLoop(g, steps, h0, direction);
                slope = Dot(g, direction);
            }

            // The first step has no curvature information: scale it so that it moves the weights by about 1.
            double step = steps.Count == 0 ? Math.Min(1.0, 1.0 / Math.Sqrt(-slope)) : 1.0;
            double fNew = double.NaN;
            bool decreased = false;
            for (int h = 0; h < MaxHalvings; h++, step /= 2)
            {
                for (int i = 0; i < n; i++) xNew[i] = x[i] + step * direction[i];
                fNew = f.Evaluate(xNew, gNew);
                if (fNew <= fx + Armijo * step * slope) { decreased = true; break; }
            }

            // No decrease along a descent direction: the loss is flat to rounding, i.e. at the optimum.
            if (!decreased) return (x, iteration - 1, fx, MaxAbs(g) <= Math.Sqrt(options.GradientTolerance));

            var s = new double[n];
            var y = new double[n];
            for (int i = 0; i < n; i++) { s[i] = xNew[i] - x[i]; y[i] = gNew[i] - g[i]; }
            double sy = Dot(s, y);
            if (sy > 1e-12 * Math.Sqrt(Dot(s, s) * Dot(y, y)))
            {
                if (steps.Count == options.History) steps.Dequeue();
                // H0 = γ·P with γ = sᵀy / yᵀPy, the usual scaling (Nocedal & Wright 7.20) in P's metric.
                steps.Enqueue((s, y, 1 / sy, sy / Dot(y, h0.Apply(y))));
            }

            double change = (fx - fNew) / Math.Max(Math.Max(Math.Abs(fx), Math.Abs(fNew)), 1e-12);
            (x, xNew) = (xNew, x);
            (g, gNew) = (gNew, g);
            fx = fNew;
            if (log is not null && iteration % 50 == 0) log($"linear probe: iteration {iteration}, loss {fx:G6}");
            if (change <= options.RelativeTolerance) return (x, iteration, fx, true);
        }
        return (x, options.MaxIterations, fx, MaxAbs(g) <= options.GradientTolerance);
    }

    /// <summary>direction = −H·g with H the L-BFGS inverse-Hessian estimate of the stored pairs on top of γ·P.</summary>
    private static void TwoLoop(double[] g, Queue<(double[] S, double[] Y, double Rho, double Gamma)> steps, Preconditioner h0, double[] direction)
    {
        var q = (double[])g.Clone();
        var pairs = steps.ToArray();
        var alpha = new double[pairs.Length];
        for (int k = pairs.Length - 1; k >= 0; k--)
        {
            alpha[k] = pairs[k].Rho * Dot(pairs[k].S, q);
            Axpy(-alpha[k], pairs[k].Y, q);
        }
        var r = h0.Apply(q);
        double gamma = pairs.Length > 0 ? pairs[^1].Gamma : 1;
        for (int i = 0; i < r.Length; i++) r[i] *= gamma;
        for (int k = 0; k < pairs.Length; k++)
        {
            double beta = pairs[k].Rho * Dot(pairs[k].Y, r);
            Axpy(alpha[k] - beta, pairs[k].S, r);
        }
        for (int i = 0; i < r.Length; i++) direction[i] = -r[i];
    }

    private static double Accuracy(Tensor x, Tensor y, Tensor w, Tensor b)
    {
        using var scope = NewDisposeScope();
        if (y.shape[0] == 0) return 0;
        return 100.0 * x.mm(w.t()).Plus(b).argmax(1).eq(y).sum().item<long>() / y.shape[0];
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void Axpy(double a, double[] x, double[] y)
    {
        for (int i = 0; i < y.Length; i++) y[i] += a * x[i];
    }

    private static double MaxAbs(double[] a)
    {
        double m = 0;
        foreach (var v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    private static void Validate(float[] trainFeatures, byte[] trainLabels, float[] testFeatures, byte[] testLabels, int dim, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (trainLabels.Length == 0) throw new ArgumentException("there are no train features to fit", nameof(trainLabels));
        if (trainFeatures.LongLength != (long)trainLabels.Length * dim)
            throw new ArgumentException($"{trainFeatures.LongLength} train feature values are not {trainLabels.Length} labels × {dim} dimensions", nameof(trainFeatures));
        if (testFeatures.LongLength != (long)testLabels.Length * dim)
            throw new ArgumentException($"{testFeatures.LongLength} test feature values are not {testLabels.Length} labels × {dim} dimensions", nameof(testFeatures));
        int badTrain = Array.FindIndex(trainLabels, l => l >= classes);
        if (badTrain >= 0) throw new ArgumentException($"train label {trainLabels[badTrain]} at {badTrain} is not below {classes} classes", nameof(trainLabels));
        int badTest = Array.FindIndex(testLabels, l => l >= classes);
        if (badTest >= 0) throw new ArgumentException($"test label {testLabels[badTest]} at {badTest} is not below {classes} classes", nameof(testLabels));
    }

    /// <summary>
    /// P = (C + δI)⁻¹ on every class's weight row, with C the correlation matrix of the standardised features
    /// (estimated on evenly spaced rows); the identity on the biases, which centred features decouple.
    /// </summary>
    private sealed class Preconditioner
    {
        private readonly Tensor inverse;
        private readonly int dim;
        private readonly int classes;

        public Preconditioner(Tensor standardised, int dim, int classes)
        {
            this.dim = dim;
            this.classes = classes;
            long n = standardised.shape[0];
            long stride = (n + PreconditionerRows - 1) / PreconditionerRows;
            var rows = standardised.slice(0, 0, n, stride);
            var correlation = rows.t().mm(rows).to_type(ScalarType.Float64).Over(rows.shape[0]);
            inverse = linalg.inv(correlation.Plus(eye(dim, dtype: ScalarType.Float64).Times(PreconditionerRidge)));
        }

        public double[] Apply(double[] v)
        {
            using var scope = NewDisposeScope();
            int weights = classes * dim;
            var w = tensor(v.AsSpan(0, weights).ToArray(), [classes, dim]).mm(inverse).contiguous();
            var result = new double[v.Length];
            MemoryMarshal.Cast<byte, double>(w.bytes).CopyTo(result);
            v.AsSpan(weights).CopyTo(result.AsSpan(weights));
            return result;
        }
    }

    /// <summary>
    /// Mean cross-entropy of softmax(X·Wᵀ + b) plus λ/2·‖W‖², and its gradient, for θ = [W (classes×dim, row-major) | b].
    /// The two matrix products run in float32 on the features; the loss and the softmax residual in float64,
    /// so that the line search and the stopping rule see the loss to far better than the tolerance.
    /// </summary>
    private sealed class Objective(Tensor x, Tensor y, int dim, int classes, double l2)
    {
        private readonly long count = y.shape[0];
        private readonly Tensor oneHot = nn.functional.one_hot(y, classes).to_type(ScalarType.Float64);

        public int Size { get; } = checked(classes * dim + classes);

        public (Tensor W, Tensor B) Weights(double[] theta)
        {
            var t = tensor(theta.Select(v => (float)v).ToArray());
            return (t.narrow(0, 0, (long)classes * dim).reshape(classes, dim), t.narrow(0, (long)classes * dim, classes));
        }

        public double Evaluate(double[] theta, double[] gradient)
        {
            using var scope = NewDisposeScope();
            var (w, b) = Weights(theta);
            var logits = x.mm(w.t()).Plus(b).to_type(ScalarType.Float64);
            var logProbabilities = logits.log_softmax(1);
            double loss = -(logProbabilities * oneHot).sum().item<double>() / count;
            // d(mean CE)/d(logits) = (softmax − onehot) / n.
            var residual = (logProbabilities.exp() - oneHot).Over(count).to_type(ScalarType.Float32);
            var gw = residual.t().mm(x).contiguous();
            var gb = residual.sum([0]).contiguous();
            var gwValues = MemoryMarshal.Cast<byte, float>(gw.bytes);
            var gbValues = MemoryMarshal.Cast<byte, float>(gb.bytes);
            int weights = classes * dim;
            double penalty = 0;
            for (int i = 0; i < weights; i++)
            {
                penalty += theta[i] * theta[i];
                gradient[i] = gwValues[i] + l2 * theta[i];
            }
            for (int c = 0; c < classes; c++) gradient[weights + c] = gbValues[c];
            return loss + 0.5 * l2 * penalty;
        }
    }
}
