//! `Loss::BoundOrExact`, what the post-action checks use: its answer is the bound's when
//! the account passes MM and IM with the bound, and the exact check's otherwise, word for
//! word, on random books of every structure (one or two underlyings) with cash set all
//! around both requirements. The bound stops as soon as the account fails with it (the MM
//! of the books before, a book's contingency and its loss so far already exceed the
//! equity), and that stop must never change an answer. Fails if a stopped bound's partial
//! MM and IM are answered (tried).

use margin_books::{book_at, Rng, ID, NOW, OTHER};
use stylus_margin::margin::{
    account_risk, account_risk_with, AccountRisk, Loss, MarginParams, Method, DEFAULT_GRID,
};

fn passes(r: &AccountRisk) -> bool {
    r.mm_surplus() >= 0 && r.im_surplus() >= 0
}

#[test]
fn bound_or_exact_is_the_passing_bound_or_the_exact_answer() {
    let mut rng = Rng(2_828);
    let params = MarginParams::DEFAULT;
    let (mut from_bound, mut exact_after_bound, mut two_books) = (0, 0, 0);
    for i in 0..1_200 {
        let book = book_at(&mut rng, i);
        let markets = [
            book.gen.market(ID, Method::Full),
            book.gen.market(OTHER, Method::Full),
        ];
        let (c, p, g) = (&book.collateral, &book.positions, &DEFAULT_GRID);
        let risk = |cash: i128, loss: Loss| {
            account_risk_with(cash, c, p, &markets, g, &params, NOW, loss)
                .unwrap_or_else(|e| panic!("book {i} {}: {e:?}", book.structure))
        };
        let exact0 = account_risk(0, c, p, &markets, g, &params, NOW).unwrap();
        let bound0 = risk(0, Loss::Bound);
        // Cash that puts the equity for IM anywhere from half the exact requirement to
        // half again the bound's (the exact and the bound's requirements included).
        let lo = exact0.im.min(exact0.mm) / 2;
        let hi = bound0.im.max(bound0.mm) * 3 / 2 + 1;
        let target = match rng.below(6) {
            0 => exact0.im.max(exact0.mm),
            1 => bound0.im.max(bound0.mm),
            _ => lo + (rng.unit() * (hi - lo) as f64) as i128,
        };
        let cash = target - exact0.equity_im.min(exact0.equity);
        let (bound, exact) = (risk(cash, Loss::Bound), risk(cash, Loss::Exact));
        let expected = if passes(&bound) {
            from_bound += 1;
            bound
        } else {
            exact_after_bound += 1;
            exact
        };
        assert_eq!(
            risk(cash, Loss::BoundOrExact),
            expected,
            "book {i} {} cash {cash}",
            book.structure
        );
        two_books += usize::from(p.iter().any(|x| x.terms.underlying == OTHER));
    }
    assert!(
        from_bound > 200 && exact_after_bound > 200 && two_books > 50,
        "{from_bound} from the bound, {exact_after_bound} exact, {two_books} with two books"
    );
}
