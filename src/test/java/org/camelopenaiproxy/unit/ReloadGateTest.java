package org.camelopenaiproxy.unit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.camelopenaiproxy.reload.ReloadGate;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReloadGateTest {

    @Test
    void holds_requests_while_closed_and_replays_them_in_order_when_opened() {
        ReloadGate gate = new ReloadGate();
        List<Integer> ran = new ArrayList<>();
        gate.close();
        gate.admit(() -> ran.add(1));
        gate.admit(() -> ran.add(2));
        assertTrue(ran.isEmpty());

        gate.open();

        assertEquals(List.of(1, 2), ran);
        assertEquals(2, gate.active());
    }

    @Test
    void quiet_only_when_no_exchange_runs_steps_and_parked_ones_do_not_count() throws Exception {
        ReloadGate gate = new ReloadGate();
        gate.admit(() -> { });
        assertFalse(gate.awaitQuiet(20, TimeUnit.MILLISECONDS));
        gate.park();
        assertTrue(gate.awaitQuiet(20, TimeUnit.MILLISECONDS));
        gate.unpark();
        gate.leave();
        assertTrue(gate.awaitQuiet(20, TimeUnit.MILLISECONDS));
        assertEquals(0, gate.active());
    }
}
